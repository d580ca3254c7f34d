// What a verified token grants a connection (docs/security.md): a name, an
// end, and the rooms it may join.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace loopchat {

struct Grant {
  std::string name;                // the token's `sub`
  std::int64_t expires = 0;        // its `exp`, unix seconds
  std::vector<std::string> rooms;  // room-name patterns (`*` any run of characters); empty: all

  bool allows(std::string_view room) const;
};
using GrantPtr = std::shared_ptr<const Grant>;

// `pattern` with `*` matching any run of characters (none included).
bool room_pattern_matches(std::string_view pattern, std::string_view room);

}  // namespace loopchat
