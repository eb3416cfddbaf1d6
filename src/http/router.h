// Router: the routing table. Each route is {method, pattern, access, handler}; patterns are
// literal segments and `{name}` parameters ("/api/v1/workloads/{id}/stop"). Lookup tells a
// path that matches no route (404) from one that matches with another method (405 + Allow).
// Built once at start-up, then read-only: safe to share between threads.
#pragma once

#include <string>
#include <vector>

#include "http/types.h"

namespace lattice::http {

struct Route {
  bhttp::verb method;
  std::string pattern;
  Access access;
  Handler handler;
  std::vector<std::string> segments;  // pattern split on '/'
};

class Router {
 public:
  void Add(bhttp::verb method, std::string pattern, Access access, Handler handler);

  struct Match {
    const Route* route = nullptr;  // null: no route for this method
    std::vector<std::pair<std::string, std::string>> params;
    std::vector<bhttp::verb> allowed;  // methods the path does match (for 405)
  };
  Match Find(bhttp::verb method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace lattice::http
