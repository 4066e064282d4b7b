// qplug/sdk/all.hpp -- the whole driver SDK in one include, for a driver that
// wants it all (examples/driver-template does). Each header is also usable on
// its own; every one depends on <qplug/driver.h> and the C++ standard library
// only. tests/sdk/all_test.cpp fails when a header of the directory is missing here.
#pragma once

#include <qplug/driver.h>

#include <qplug/sdk/backoff.hpp>
#include <qplug/sdk/command_queue.hpp>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/entry.hpp>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/mpsc_queue.hpp>
#include <qplug/sdk/network_settings.hpp>
#include <qplug/sdk/parse.hpp>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/queue_info.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/spin_lock.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/subscribe.hpp>
#include <qplug/sdk/url.hpp>
#include <qplug/sdk/validate.hpp>
#include <qplug/sdk/versioned.hpp>
#include <qplug/sdk/waiter.hpp>
