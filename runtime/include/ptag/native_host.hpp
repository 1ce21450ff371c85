// What the runtime gives native code (ptag/native.hpp): the host functions
// and where its partner records keep what guards read.
#pragma once

#include "ptag/native.hpp"

namespace ptag {

const NativeHost& native_host();
NativeLayout native_layout();

}  // namespace ptag
