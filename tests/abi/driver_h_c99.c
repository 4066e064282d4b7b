/*
 * driver_h_c99.c -- compile test: <qplug/driver.h> is strict C99.
 *
 * Built with -std=c99 -pedantic -Wall -Wextra -Werror (and a few more), so a
 * C++-ism, a C11 feature or a missing include in the header breaks the build.
 * Nothing here runs; the layout checks live in abi_layout_test.c.
 */
#include <qplug/driver.h>

/* Something that uses every type, so each declaration is actually checked. */
size_t qplug_abi_c99_sizes(void);
size_t qplug_abi_c99_sizes(void) {
  return sizeof(qplug_status) + sizeof(qplug_str) + sizeof(qplug_bytes) + sizeof(qplug_value) + sizeof(qplug_header) +
         sizeof(qplug_kv) + sizeof(qplug_message) + sizeof(qplug_host_v1) + sizeof(qplug_publish_options) +
         sizeof(qplug_subscribe_options) + sizeof(qplug_queue_info) + sizeof(qplug_driver_v1) +
         sizeof(qplug_driver_entry_fn) + sizeof(qplug_publish_done_fn) + sizeof(qplug_deliver_fn);
}
