import Dispatch
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// One PostgreSQL connection used synchronously: each call waits for its answer.
///
/// The cluster code runs on threads of its own (the table writer, the mirror's thread, a CLI
/// command), never on an event loop, so blocking on a future is what it wants; the NIO event
/// loops that do the I/O are postgres-nio's singleton group.
package final class PostgresSession: Sendable {
    private let connection: Mutex<PostgresConnection>
    private let logger: Logger

    /// Connects, or throws `.unreachable`.
    package init(_ configuration: PostgresConnection.Configuration, logger: Logger = PostgresSession.quiet) throws(ClusterError) {
        self.logger = logger
        do {
            let c = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger
            ).wait()
            connection = Mutex(c)
        } catch {
            var why = Self.describe(error)
            if !configuration.tls.isAllowed, why.contains("no encryption") {
                why += " (the server takes this connection only over TLS: sslmode=disable refuses it; use sslmode=require or verify-full)"
            }
            throw ClusterError(.unreachable, "cannot connect to PostgreSQL: \(why)")
        }
    }

    // postgres-nio requires a connection to be closed before it goes away.
    deinit {
        let c = connection.withLock { $0 }
        if c.eventLoop.inEventLoop {
            c.close().whenComplete { _ in withExtendedLifetime(c) {} }
        } else {
            _ = try? c.close().wait()
        }
    }

    /// A logger that drops everything (postgres-nio logs each query at debug level).
    package static let quiet = Logger(label: "director.cluster", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The underlying connection (for LISTEN).
    package var raw: PostgresConnection { connection.withLock { $0 } }

    /// True once the connection is gone (the server stopped, the network broke).
    package var isClosed: Bool { connection.withLock { $0.isClosed } }

    /// Closes the connection without waiting.
    package func close() {
        let c = connection.withLock { $0 }
        c.close().whenComplete { _ in withExtendedLifetime(c) {} }
    }

    /// Runs one statement (by itself a transaction) and returns its rows.
    @discardableResult
    package func run(_ q: PostgresQuery) throws(ClusterError) -> [PostgresRow] {
        let logger = self.logger
        return try connection.withLock { (c) throws(ClusterError) -> [PostgresRow] in try Self.run(q, on: c, logger: logger) }
    }

    /// `body` inside BEGIN … COMMIT (ROLLBACK when it throws). The connection is held for the
    /// whole transaction, so no other call interleaves.
    package func transaction<R>(_ body: (_ run: (PostgresQuery) throws(ClusterError) -> [PostgresRow]) throws(ClusterError) -> R) throws(ClusterError) -> R {
        let logger = self.logger
        return try connection.withLock { (c) throws(ClusterError) -> R in
            _ = try Self.run("BEGIN", on: c, logger: logger)
            do throws(ClusterError) {
                let result = try body { (q) throws(ClusterError) in try Self.run(q, on: c, logger: logger) }
                _ = try Self.run("COMMIT", on: c, logger: logger)
                return result
            } catch {
                _ = try? Self.run("ROLLBACK", on: c, logger: logger)
                throw error
            }
        }
    }

    /// How long one statement may take before the connection is given up (closed, and the
    /// call fails as `.unreachable`): a server that went away in the middle of a query must
    /// not leave the caller (the mirror's thread) waiting for ever. Seen once under load: a
    /// query in flight when the server stopped never completed.
    package static let statementTimeout: Duration = .seconds(10)

    private static func run(_ q: PostgresQuery, on c: PostgresConnection, logger: Logger) throws(ClusterError) -> [PostgresRow] {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<[PostgresRow], any Error>?>(nil)
        c.query(q, logger: logger).whenComplete { result in
            outcome.withLock { $0 = result.map(\.rows) }
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(Int(statementTimeout.components.seconds))) == .success,
            let result = outcome.withLock({ $0 })
        else {
            c.close().whenComplete { _ in withExtendedLifetime(c) {} }
            throw ClusterError(.unreachable, "PostgreSQL did not answer within \(statementTimeout.components.seconds) s; connection closed")
        }
        switch result {
        case .success(let rows): return rows
        case .failure(let error): throw ClusterError(c.isClosed ? .unreachable : .query, "PostgreSQL: \(describe(error))")
        }
    }

    /// The server's message when there is one, else the error's description.
    package static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            if e.code == .sslUnsupported { return "the server does not offer TLS (sslmode=require and verify-* need it; prefer would go on without)" }
            if let underlying = e.underlying, let tls = describeTLS(underlying) { return tls }
            if let underlying = e.underlying { return "\(e.code): \(underlying)" }
            return "\(e.code)"
        }
        return "\(error)"
    }
}

extension PostgresSession {
    /// A TLS handshake's failure in words (BoringSSL's reason is deep in NIOSSL's error).
    fileprivate static func describeTLS(_ error: any Error) -> String? {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS: the server's certificate could not be verified against sslrootcert (CERTIFICATE_VERIFY_FAILED: not signed by a trusted root)"
        }
        if text.contains("failedToValidateHostname") {
            return "TLS: the server's certificate does not name this host (sslmode=verify-full): \(text)"
        }
        if error is NIOSSLError || text.contains("handshakeFailed") { return "TLS: \(text)" }
        return nil
    }
}

/// Decoding helpers for rows (a wrong type is a `.query` error naming the column).
package enum Column {
    package static func text(_ row: PostgresRow, _ i: Int) throws(ClusterError) -> String {
        do { return try row.makeRandomAccess()[i].decode(String.self) } catch {
            throw ClusterError(.query, "PostgreSQL column \(i): \(PostgresSession.describe(error))")
        }
    }

    package static func optionalText(_ row: PostgresRow, _ i: Int) throws(ClusterError) -> String? {
        do { return try row.makeRandomAccess()[i].decode(String?.self) } catch {
            throw ClusterError(.query, "PostgreSQL column \(i): \(PostgresSession.describe(error))")
        }
    }

    package static func int(_ row: PostgresRow, _ i: Int) throws(ClusterError) -> Int64 {
        do { return try row.makeRandomAccess()[i].decode(Int64.self) } catch {
            throw ClusterError(.query, "PostgreSQL column \(i): \(PostgresSession.describe(error))")
        }
    }

    package static func optionalInt(_ row: PostgresRow, _ i: Int) throws(ClusterError) -> Int64? {
        do { return try row.makeRandomAccess()[i].decode(Int64?.self) } catch {
            throw ClusterError(.query, "PostgreSQL column \(i): \(PostgresSession.describe(error))")
        }
    }

    package static func bool(_ row: PostgresRow, _ i: Int) throws(ClusterError) -> Bool {
        do { return try row.makeRandomAccess()[i].decode(Bool.self) } catch {
            throw ClusterError(.query, "PostgreSQL column \(i): \(PostgresSession.describe(error))")
        }
    }
}
