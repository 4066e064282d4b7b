// commands.hpp -- the subcommands of the qplug CLI. Each lives in its own
// cmd_<name>.cpp and is listed in main.cpp's command table.
//
// Every command receives argv with argv[0] = the command name and returns an
// exit code: 0 ok, 1 runtime failure, 2 usage or config error.
#pragma once

namespace qplug::cli {

int cmd_check(int argc, char** argv);
int cmd_drivers(int argc, char** argv);
int cmd_publish(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_lua(int argc, char** argv);  // cmd_lua.cpp, built with the Lua binding

}  // namespace qplug::cli
