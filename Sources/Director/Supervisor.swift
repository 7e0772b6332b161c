#if canImport(Glibc)
import Glibc
#endif
import DirectorCore
import DirectorManifest
import DirectorRuntime
import DirectorTable
import Logging
import ServiceLifecycle
import Synchronization

/// A supervision tree of OS processes, built from parts: the tree (a jobs directory or a
/// ``Manifest`` built in code), a table, an optional delegate, a logger and options.
///
/// ```swift
/// let supervisor = try Supervisor(manifest: .manifest(tree), logger: logger)
/// let group = ServiceGroup(services: [supervisor, api], logger: logger)
/// try await group.run()
/// ```
///
/// It is a swift-service-lifecycle `Service`: ``run()`` starts the tree and returns when it
/// has stopped; graceful shutdown stops the children in reverse order, each with its job's
/// `shutdown` signal and timeout; cancellation kills them (SIGKILL to each process group).
/// The tree runs on a thread of its own (an epoll loop); ``handle`` reaches it from anywhere.
///
/// `director run` is this type with `ProcessWideBehaviour.daemon`, a state directory, a
/// ``DaemonLogHandler`` and `ChildOutput.standardOutput`.
public final class Supervisor: Service, Sendable {
    /// Drives the tree from any task: OTP's API.
    public let handle: SupervisorHandle
    /// The runtime until `run` takes it to the loop thread. It is created on the caller's
    /// thread and from then on touched by exactly one thread at a time: the mutex hands it
    /// over, it never shares it.
    private let pending: Mutex<RuntimeBox?>
    private let inbox: LoopInbox<LoopRequest>

    /// Builds the supervisor: validates the tree, takes the state directory's lock and opens
    /// its table when there is one. Starts nothing until ``run()``.
    ///
    /// - Parameters:
    ///   - manifest: the tree: `.directory(path)` or `.manifest(tree)`.
    ///   - table: where children's state is recorded; nil: the state directory's LMDB table
    ///     when `options.stateDirectory` is set, else an ``InMemoryTable``.
    ///   - delegate: decides exits per child (the Erlang library's callback module); nil:
    ///     the manifest's `on_exit` rules.
    ///   - logger: the supervisor's own lines (`started`, `exited`, `restarting`, ...), with
    ///     the child id as metadata `id` and the event's fields as `fields`.
    ///   - options: see ``SupervisorOptions``.
    public init(
        manifest: ManifestSource, table: (any ChildTable)? = nil, delegate: (any SupervisorDelegate)? = nil,
        logger: Logger, options: SupervisorOptions = SupervisorOptions()
    ) throws(SupervisorError) {
        let tree: Manifest
        let directory: String?
        switch manifest {
        case .directory(let path):
            do { tree = try ManifestLoader.load(directory: path, maxChildren: options.maxChildren) } catch {
                throw SupervisorError(.invalidManifest, error.errors.map(\.description).joined(separator: "\n"))
            }
            directory = path
        case .manifest(let built):
            do { tree = try ManifestValidator.validate(built, maxChildren: options.maxChildren) } catch {
                throw SupervisorError(.invalidManifest, error.errors.map(\.description).joined(separator: "\n"))
            }
            directory = nil
        }
        let inbox: LoopInbox<LoopRequest>
        do { inbox = try LoopInbox() } catch {
            throw SupervisorError(.system, error.message)
        }
        let hub = EventHub()
        var runtimeOptions = RuntimeOptions()
        runtimeOptions.stateDirectory = options.stateDirectory
        runtimeOptions.trace = options.trace
        runtimeOptions.root = options.root
        runtimeOptions.reloadDebounce = options.reloadDebounce
        runtimeOptions.watch = options.watchesDirectory
        runtimeOptions.seed = options.seed
        runtimeOptions.version = options.version
        runtimeOptions.maxChildren = options.maxChildren
        runtimeOptions.tableCheckCommand = options.tableCheckCommand
        runtimeOptions.tablePath = options.tablePath
        runtimeOptions.node = options.node
        runtimeOptions.tableMirror = options.tableMirror
        runtimeOptions.becomeSubreaper = options.processWide.contains(.subreaper)
        runtimeOptions.handleSignals = options.processWide.contains(.signals)
        runtimeOptions.trimHeap = options.processWide.contains(.heapTrim)
        runtimeOptions.raiseDescriptorLimit = options.processWide.contains(.descriptorLimit)
        var parts = RuntimeParts(manifest: tree, jobsDirectory: directory, table: table, logger: logger, options: runtimeOptions)
        switch options.childOutput {
        case .discard: parts.childOutput = .discard
        case .standardOutput: parts.childOutput = .file(descriptor: 1, format: options.childLineFormat)
        case .lines(let handler): parts.childOutput = .lines(handler)
        }
        parts.hooks = delegate.map { makeHooks($0) }
        parts.events = hub
        parts.inbox = inbox
        let runtime: SupervisorRuntime
        do { runtime = try SupervisorRuntime(parts) } catch {
            throw SupervisorError(Self.code(error.code), error.lines.joined(separator: "\n"))
        }
        self.inbox = inbox
        self.handle = SupervisorHandle(inbox: inbox, hub: hub)
        self.pending = Mutex(RuntimeBox(runtime))
    }

    /// Runs the tree until it has stopped (the `Service` requirement).
    ///
    /// Graceful shutdown (a `ServiceGroup`'s) stops the tree in reverse order with the jobs'
    /// shutdown timeouts; cancellation kills every child at once. Returns when the tree has
    /// stopped; throws `SupervisorError.Code.treeFailed` when it stopped because the root
    /// failed (`RootPolicy.onFailure == .exit`), so that a `ServiceGroup` sees a failure.
    public func run() async throws {
        let runtime = try take()
        let inbox = self.inbox
        let status: Int32 = try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
                    LoopThread.start {
                        do throws(RuntimeStartError) {
                            continuation.resume(returning: try runtime.value.run())
                        } catch {
                            continuation.resume(throwing: SupervisorError(Self.code(error.code), error.lines.joined(separator: "\n")))
                        }
                    }
                }
            } onGracefulShutdown: {
                inbox.post(.control(.shutdown, reply: { _ in }))
            }
        } onCancel: {
            inbox.post(.kill)
        }
        if status != 0 { throw SupervisorError(.treeFailed, "the root failed: the tree has stopped (status \(status))") }
    }

    /// Runs the tree on the calling thread until it has stopped and returns the exit status
    /// (0 after a shutdown, 1 when the root failed). For a program whose main thread has
    /// nothing else to do, and the one way to use `ProcessWideBehaviour.signals` (the
    /// signals are blocked on this thread): `director run` calls it.
    public func runOnCurrentThread() throws(SupervisorError) -> Int32 {
        let runtime = try take()
        do { return try runtime.value.run() } catch {
            throw SupervisorError(Self.code(error.code), error.lines.joined(separator: "\n"))
        }
    }

    private func take() throws(SupervisorError) -> RuntimeBox {
        guard let runtime = pending.withLock({ box -> RuntimeBox? in
            let taken = box
            box = nil
            return taken
        }) else {
            throw SupervisorError(.alreadyRunning, "this supervisor runs or ran already")
        }
        return runtime
    }

    private static func code(_ code: RuntimeStartError.Code) -> SupervisorError.Code {
        switch code {
        case .invalidManifest: .invalidManifest
        case .lockHeld: .lockHeld
        case .table: .table
        case .system: .system
        }
    }
}

/// Moves the runtime from the thread that built it to the loop thread (see `pending`).
private final class RuntimeBox: @unchecked Sendable {
    let value: SupervisorRuntime
    init(_ value: SupervisorRuntime) { self.value = value }
}

/// A thread of its own for the loop: `epoll_wait` blocks, which must not happen on a
/// thread of Swift's cooperative pool.
enum LoopThread {
    private final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        if rc != 0 {
            // No thread to be had: run here rather than never (the caller's task blocks).
            Unmanaged<Body>.fromOpaque(box).takeRetainedValue().run()
        } else {
            pthread_detach(thread)
        }
    }
}
