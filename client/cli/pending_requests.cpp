#include "client/cli/pending_requests.hpp"

#include <variant>

namespace loopchat::cli {

std::optional<std::int64_t> PendingRequests::as_int(const protocol::RequestId& id) {
  if (auto* n = std::get_if<std::int64_t>(&id)) return *n;
  return std::nullopt;
}

std::int64_t PendingRequests::add(PendingRequest request) {
  std::int64_t id = next_id_++;
  requests_.emplace(id, std::move(request));
  return id;
}

const PendingRequest* PendingRequests::find(const protocol::RequestId& id) const {
  auto n = as_int(id);
  if (!n) return nullptr;
  auto it = requests_.find(*n);
  return it == requests_.end() ? nullptr : &it->second;
}

std::optional<PendingRequest> PendingRequests::take(const protocol::RequestId& id) {
  auto n = as_int(id);
  if (!n) return std::nullopt;
  auto it = requests_.find(*n);
  if (it == requests_.end()) return std::nullopt;
  PendingRequest request = std::move(it->second);
  requests_.erase(it);
  return request;
}

std::vector<PendingRequest> PendingRequests::settle_before(std::int64_t id) {
  std::vector<PendingRequest> settled;
  for (auto it = requests_.begin(); it != requests_.end() && it->first < id;) {
    if (it->second.kind == RequestKind::nick) {
      settled.push_back(std::move(it->second));
      it = requests_.erase(it);
    } else {
      ++it;
    }
  }
  return settled;
}

std::size_t PendingRequests::clear() {
  std::size_t n = requests_.size();
  requests_.clear();
  return n;
}

std::size_t PendingRequests::slow() const {
  std::size_t n = 0;
  for (const auto& [id, request] : requests_)
    if (request.kind == RequestKind::remind || request.kind == RequestKind::fetch) ++n;
  return n;
}

}  // namespace loopchat::cli
