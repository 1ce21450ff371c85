// What the runtime gives native code (ptag/native.hpp): the host functions
// and where its partner records keep what guards read.
#pragma once

#include "ptag/native.hpp"

namespace ptag {

// What NativeHost::fire and guard_error reach through NativeFrame::runner.
class NativeRunner {
 public:
  virtual void fire(NativeFrame& frame, RuleId rule) = 0;
  virtual void guard_error(RuleId rule) = 0;
  virtual void others_before(NativeFrame& frame, RuleId rule) = 0;

 protected:
  ~NativeRunner() = default;
};

const NativeHost& native_host();
NativeLayout native_layout();

}  // namespace ptag
