#include <algorithm>

#include "server/engine/engine.hpp"

namespace loopchat {

WhoSlice page_of_names(std::vector<std::string> names, const WhoQuery& query) {
  if (query.after)
    std::erase_if(names, [&](const std::string& name) { return name <= *query.after; });
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());  // one user, two connections
  WhoSlice slice;
  slice.truncated = names.size() > query.limit;
  if (slice.truncated) names.resize(query.limit);
  slice.names = std::move(names);
  return slice;
}

}  // namespace loopchat
