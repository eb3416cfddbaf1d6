// Router: the routing table. Each route is {method, pattern, access, handler, store use};
// patterns are literal segments and `{name}` parameters ("/api/v1/workloads/{id}/stop"). Lookup
// tells a path that matches no route (404) from one that matches with another method (405 +
// Allow).
// Built once at start-up, then read-only: safe to share between threads.
#pragma once

#include <string>
#include <vector>

#include "http/types.h"

namespace lattice::http {

// Whether a route's handler may block on the store. kYes, the default: the dispatcher runs
// authentication and the handler on the StoreExecutor (store_executor.h). kNo: the handler runs
// on the I/O thread and must not block (it may await the StoreExecutor itself, or stream);
// authentication, for routes that need it, still runs on the executor.
enum class UsesStore { kYes, kNo };

struct Route {
  bhttp::verb method;
  std::string pattern;
  Access access;
  Handler handler;
  UsesStore store = UsesStore::kYes;
  std::vector<std::string> segments;  // pattern split on '/'
};

class Router {
 public:
  void Add(bhttp::verb method, std::string pattern, Access access, Handler handler,
           UsesStore store = UsesStore::kYes);

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
