// `loopchat-server token ...`: mints a token for the server's secret, for
// tests, scripts and a deployment's own login service to copy.
#pragma once

namespace loopchat {

// argv[0] is "token". Prints the token and returns 0, or an error and 2.
int run_token_command(int argc, char** argv);

}  // namespace loopchat
