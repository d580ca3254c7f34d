# websocketpp 0.8.2 (Debian's libwebsocketpp-dev) does not compile as C++20:
# four headers name constructors and destructors with template arguments
# ("template-id not allowed for constructor", ill-formed since C++20).
# We keep the installed package untouched and generate a patched copy of its
# headers in the build tree, dropping those template arguments; the build
# then puts that copy first on the include path.
find_path(WEBSOCKETPP_INCLUDE_DIR websocketpp/version.hpp REQUIRED)

set(_wspp_out "${CMAKE_BINARY_DIR}/websocketpp-cxx20")
file(REMOVE_RECURSE "${_wspp_out}")
file(COPY "${WEBSOCKETPP_INCLUDE_DIR}/websocketpp" DESTINATION "${_wspp_out}")

function(_wspp_patch relpath)
  set(path "${_wspp_out}/websocketpp/${relpath}")
  file(READ "${path}" text)
  set(before "${text}")
  foreach(pair IN LISTS ARGN)
    string(REPLACE "=>" ";" pair "${pair}")
    list(GET pair 0 from)
    list(GET pair 1 to)
    string(REPLACE "${from}" "${to}" text "${text}")
  endforeach()
  if(text STREQUAL before)
    message(FATAL_ERROR "websocketpp patch did not apply to ${relpath}: unexpected version?")
  endif()
  file(WRITE "${path}" "${text}")
endfunction()

_wspp_patch(logger/basic.hpp
  "basic<concurrency,names>(=>basic("
  "~basic<concurrency,names>()=>~basic()")
_wspp_patch(logger/syslog.hpp "syslog<concurrency,names>(=>syslog(")
_wspp_patch(endpoint.hpp "~endpoint<connection,config>()=>~endpoint()")
_wspp_patch(roles/server_endpoint.hpp
  "~server<config>()=>~server()"
  "server<config>(server<config>=>server(server<config>")

add_library(websocketpp_cxx20 INTERFACE)
target_include_directories(websocketpp_cxx20 SYSTEM BEFORE INTERFACE "${_wspp_out}")
target_compile_definitions(websocketpp_cxx20 INTERFACE ASIO_STANDALONE _WEBSOCKETPP_CPP11_STL_)
