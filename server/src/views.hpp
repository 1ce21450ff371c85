// The endpoints the partners page uses (docs/serve.md, "The partners page"):
// the segment table and its CSV, partners per tag over time, flows, the
// records after a seq; and the page itself.
#pragma once

#include "http.hpp"
#include "http_common.hpp"

namespace ptag::serve {

void add_views(RouteTable& table, Routes& routes);

}  // namespace ptag::serve
