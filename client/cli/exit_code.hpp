// The exit codes of `loopchat`, documented in docs/cli.md. Scripts rely on
// them: never renumber.
#pragma once

namespace loopchat::cli {

enum ExitCode : int {
  kExitOk = 0,              // /quit, Ctrl-C/Ctrl-D, or end of input once all was acknowledged
  kExitFailure = 1,         // an unexpected internal error
  kExitUsage = 2,           // bad options or a bad URL
  kExitConnectFailed = 3,   // the first connect failed, or reconnecting gave up
  kExitClosedByServer = 4,  // the server closed (or the connection broke) and we do not reconnect
  kExitSignalBase = 128,    // + the signal number, on SIGINT/SIGTERM/SIGHUP
};

}  // namespace loopchat::cli
