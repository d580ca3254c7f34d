#include "server/auth/grant.hpp"

#include <algorithm>

namespace loopchat {

// Greedy glob matching with backtracking to the last `*`: linear in the
// room's length per star, and patterns and rooms are short (64 characters).
bool room_pattern_matches(std::string_view pattern, std::string_view room) {
  std::size_t p = 0, r = 0, star = std::string_view::npos, resume = 0;
  while (r < room.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = r;
    } else if (p < pattern.size() && pattern[p] == room[r]) {
      ++p;
      ++r;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      r = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Grant::allows(std::string_view room) const {
  return rooms.empty() || std::any_of(rooms.begin(), rooms.end(), [room](const std::string& p) {
           return room_pattern_matches(p, room);
         });
}

}  // namespace loopchat
