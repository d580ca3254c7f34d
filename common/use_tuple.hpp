// The completion token for awaited operations whose failure is ordinary
// (EOF, close, cancel): the error comes back as a value, never thrown.
#pragma once

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace loopchat {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace loopchat
