// The one conversion from a C socket address (what curl and c-ares hand us)
// to an asio address.
#pragma once

#include <cstddef>
#include <optional>

#include <sys/socket.h>
#include <asio/ip/address.hpp>

namespace loopchat {

// nullopt unless `address` is an AF_INET or AF_INET6 address of at least
// its family's size (`length` bytes are readable).
std::optional<asio::ip::address> address_of(const sockaddr* address, std::size_t length);

}  // namespace loopchat
