// loopchat: the interactive (and scriptable) terminal client of loopchat.
// One thread, one io_context: the keyboard (a stream descriptor on a dup of
// stdin), the WebSocket connection and every timer are coroutines on it.
// main() only wires: options -> terminal -> io_context -> session -> run().
#include <signal.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "client/cli/console.hpp"
#include "client/cli/exit_code.hpp"
#include "client/cli/options.hpp"
#include "client/cli/renderer.hpp"
#include "client/cli/session.hpp"
#include "client/cli/terminal.hpp"

int main(int argc, char** argv) {
  using namespace loopchat::cli;
  ParsedCli parsed = parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  const CliOptions& options = *parsed.options;
  ::signal(SIGPIPE, SIG_IGN);  // a closed stdout or socket is an error code, not a death

  const bool interactive = is_terminal(STDIN_FILENO) && is_terminal(STDOUT_FILENO);
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  const bool color = is_terminal(STDOUT_FILENO) && no_color == nullptr && !options.no_color &&
                     !options.json && !(term != nullptr && std::string_view(term) == "dumb");

  int exit_code = kExitFailure;
  try {
    TerminalGuard terminal(interactive);
    asio::io_context io(1);
    Console console(io.get_executor(), interactive);
    Renderer renderer(color);
    Session session(io.get_executor(), options, console, renderer);

    bool done = false;
    asio::co_spawn(io, session.run(), [&](std::exception_ptr error, int code) {
      done = true;
      exit_code = code;
      if (error) std::rethrow_exception(error);
    });
    while (!done && io.run_one() > 0) {
    }
    // Let the close handshake finish; bounded, returns early when all is done.
    io.run_for(std::chrono::milliseconds(1500));
    console.clear_prompt();
  } catch (const std::exception& e) {
    restore_terminal();
    std::cerr << "\nloopchat: " << e.what() << '\n';
    return kExitFailure;
  }
  return exit_code;
}
