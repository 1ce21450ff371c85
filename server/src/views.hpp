// The endpoints the partners page uses (docs/serve.md, "The partners page"):
// the segment table and its CSV, partners per tag over time, flows, the
// records after a seq; and the page itself.
#pragma once

#include "http.hpp"

namespace ptag::serve {

void add_views(httplib::Server& server, Routes& routes);

}  // namespace ptag::serve
