// Fault injection for tests: make the process's next fsyncs fail as a
// failing disk would, to test what the database does when durability is
// lost. Production code only ever reads the switch (one relaxed atomic load
// per sync).
#pragma once

#include <atomic>
#include <cstdint>

namespace iqdb::util {

// The next `count` File::sync/sync_all calls (in any thread) fail with
// kIOError; 0 turns injection off.
void inject_sync_failures(int64_t count);

// True when this sync should fail (consumes one injected failure).
bool consume_injected_sync_failure();

}  // namespace iqdb::util
