// Blocking synchronization for the storage engine's driver threads: a mutex
// with a condition variable, and named worker threads. These are threading
// primitives, not time sources: a timed wait bounds how long a thread blocks
// but never feeds a decision in deterministic code.
import CRingtailSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex plus one or more condition variables on it.
///
/// Thread safety: all methods may be called from any thread. `wait` must be
/// called with the lock held (inside `withLock`). Condition 0 is the default.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int

    public init(conditions count: Int = 1) {
        precondition(count >= 1)
        conditionCount = count
        conditions = .allocate(capacity: count)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        for i in 0..<count { pthread_cond_init(conditions + i, &attributes) }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for i in 0..<conditionCount { pthread_cond_destroy(conditions + i) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    /// Waits on condition `index`. Lock must be held.
    public func wait(condition index: Int) {
        precondition(index >= 0 && index < conditionCount)
        pthread_cond_wait(conditions + index, mutex)
    }

    public func signal(condition index: Int) { pthread_cond_signal(conditions + index) }
    public func broadcast(condition index: Int) { pthread_cond_broadcast(conditions + index) }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    @inlinable
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for a signal. Lock must be held; it is held again on return.
    public func wait() { pthread_cond_wait(conditions, mutex) }

    /// Waits for a signal or until `timeout` passes. Lock must be held.
    /// Returns false on timeout.
    @discardableResult
    public func wait(timeout: Duration) -> Bool { wait(condition: 0, timeout: timeout) }

    /// Waits on condition `index` for a signal or until `timeout` passes.
    @discardableResult
    public func wait(condition index: Int, timeout: Duration) -> Bool {
        var deadline = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        #else
        clock_gettime(CLOCK_REALTIME, &deadline)
        #endif
        let ns = max(0, timeout.nanosecondsClamped)
        var sec = Int(deadline.tv_sec) + Int(ns / 1_000_000_000)
        var nsec = Int(deadline.tv_nsec) + Int(ns % 1_000_000_000)
        if nsec >= 1_000_000_000 {
            sec += 1
            nsec -= 1_000_000_000
        }
        deadline.tv_sec = sec
        deadline.tv_nsec = nsec
        return pthread_cond_timedwait(conditions + index, mutex, &deadline) == 0
    }

    public func broadcast() { pthread_cond_broadcast(conditions) }
}

/// A dedicated OS thread running one closure (a flusher, compactor, syncer).
public final class WorkerThread: @unchecked Sendable {
    private var thread: pthread_t? = nil
    public let name: String

    private final class Box {
        let body: @Sendable () -> Void
        let name: String
        let niceness: Int32
        init(_ body: @escaping @Sendable () -> Void, name: String, niceness: Int32) {
            self.body = body
            self.name = name
            self.niceness = niceness
        }
    }

    /// Starts the thread at once. A positive `niceness` lowers its CPU
    /// priority (background work such as compaction yields to requests).
    public init(name: String, niceness: Int32 = 0, body: @escaping @Sendable () -> Void) {
        self.name = name
        let box = Unmanaged.passRetained(Box(body, name: name, niceness: niceness)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            ringtail_set_thread_name(box.name)
            if box.niceness != 0 { _ = ringtail_set_thread_niceness(box.niceness) }
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = handle
    }

    /// Waits for the closure to return.
    public func join() {
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }
}

/// A value guarded by a lock, for state holding non-Sendable references
/// (where `Synchronization.Mutex`'s `sending` rules get in the way).
public final class Locked<Value>: @unchecked Sendable {
    private let lock = ConditionLock()
    // Only touched with the lock held: the lock is the exclusivity guarantee.
    @exclusivity(unchecked) private var value: Value

    public init(_ value: Value) { self.value = value }

    @inlinable
    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        try withLockedValue(body)
    }

    @usableFromInline
    func withLockedValue<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
