import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Runs the studio until SIGINT or SIGTERM, then shuts down gracefully: the listener closes,
/// requests in flight get `shutdownGraceSeconds` to finish (then they are cancelled), and the
/// library is left as its last committed transaction. Connections silent for
/// `idleTimeoutSeconds` are closed; the listener reuses its address, so a restart binds the port
/// at once (on Linux SO_REUSEADDR still refuses a port another process listens on).
public enum StudioServer {
    /// A random token for hosts off loopback: 128 bits, hex.
    public static func makeToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &g)) }.joined()
    }

    /// The URL to open, with the token when there is one (as Jupyter prints it).
    public static func url(host: String, port: Int, token: String?) -> String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)/" + (token.map { "?token=\($0)" } ?? "")
    }

    /// Every route (docs/studio.md), in three controllers, behind three middlewares: errors
    /// answer as `StudioError` (`{"error": "one line"}`), the access check (token, loopback
    /// Host, same Origin), and the body limit.
    static func router(studio: Studio, assets: WebAssets) -> Router<StudioContext> {
        let router = Router(context: StudioContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AccessMiddleware(token: studio.configuration.token))
        router.add(middleware: BodyLimitMiddleware(limit: studio.configuration.maxBodyBytes))
        PageController(assets: assets, token: studio.configuration.token).addRoutes(to: router)
        StylesController(studio: studio).addRoutes(to: router)
        RenderController(studio: studio).addRoutes(to: router)
        return router
    }

    /// `onReady` gets the URL once the socket listens (with the real port when 0 was asked).
    public static func run(studio: Studio, assets: WebAssets, onReady: @escaping @Sendable (String) -> Void) async throws {
        let c = studio.configuration
        precondition(c.token != nil || StudioConfiguration.isLoopback(c.host), "a host off loopback needs a token")
        var logger = Logger(label: "pastiche.studio") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["PASTICHE_STUDIO_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        let app = Application(
            router: router(studio: studio, assets: assets),
            server: .http1(configuration: .init(additionalChannelHandlers: [MalformedRequestHandler()],
                                                idleTimeout: .seconds(Int64(c.idleTimeoutSeconds)))),
            configuration: .init(address: .hostname(c.host, port: c.port), serverName: "pastiche",
                                 reuseAddress: true),
            onServerRunning: { channel in
                onReady(url(host: c.host, port: channel.localAddress?.port ?? c.port, token: c.token))
            },
            logger: logger)
        var group = ServiceGroupConfiguration(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint],
                                              logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(c.shutdownGraceSeconds)
        try await ServiceGroup(configuration: group).run()
    }
}
