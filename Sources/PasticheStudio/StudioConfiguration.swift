import PasticheImage

/// Everything `pastiche serve` can be told, as one value handed to the server.
public struct StudioConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (the printed URL says which).
    public var port = 8750
    /// Required on every request when set; `StudioServer` sets one for any non-loopback host.
    public var token: String?
    /// Request bodies above this get 413.
    public var maxBodyBytes = 64 << 20
    /// Decoded photos and styles above this many pixels get 413 (the CLI's limit).
    public var maxPixels = ImageIO.defaultMaxPixels
    /// Decoded photos, their preview-size copies and own embeddings, least recently used first out.
    public var photoCacheBytes = 768 << 20
    /// Renders and embeddings waiting for the compute queue beyond this get 503.
    public var maxQueuedJobs = 16
    /// Finished full-size renders kept for download.
    public var keptResults = 8
    /// Seconds a connection may stay silent (idle between requests, or part-way through sending
    /// one) before it is closed: silent clients must not hold the studio's file descriptors.
    public var idleTimeoutSeconds = 60
    /// Seconds SIGTERM/SIGINT wait for requests in flight before the studio stops anyway
    /// (a client that never reads its response must not keep it alive).
    public var shutdownGraceSeconds = 5

    public init() {}

    /// 127.0.0.0/8, ::1 and localhost: the only hosts served without a token.
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "[::1]" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
