// The sources' endpoints: each source's webhook path, and its dead letters
// (GET /v1/sources/{name}/rejected, POST /v1/sources/{name}/replay).
#pragma once

#include "http.hpp"
#include "http_common.hpp"

namespace ptag::serve {

void add_sources(RouteTable& table, Routes& routes);

}  // namespace ptag::serve
