import Foundation

/// The page's files, read once at start-up from the resource bundle SwiftPM puts beside the
/// executable (Resources/Web). Requests name an asset from this fixed table, never a path, so
/// no request can reach any other file. Looked up by hand rather than through `Bundle.module`,
/// which stops the process when the bundle is missing: then `serve` says so in one line.
public struct WebAssets: Sendable {
    public struct Asset: Sendable {
        public let bytes: [UInt8]
        public let contentType: String
    }

    static let files: [(name: String, contentType: String)] = [
        ("index.html", "text/html; charset=utf-8"),
        ("studio.css", "text/css; charset=utf-8"),
        ("studio.js", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ]

    public let assets: [String: Asset]

    public static func load() throws -> WebAssets {
        let bundle = "Pastiche_PasticheStudio.resources/Web"
        var roots: [URL] = []
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath() { roots.append(exe.deletingLastPathComponent()) }
        roots.append(Bundle.main.bundleURL)
        guard let dir = roots.map({ $0.appendingPathComponent(bundle) })
            .first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("index.html").path) }) else {
            throw StudioError(500, "the studio's page is missing: \(bundle) must sit beside the pastiche binary (copy it with the binary)")
        }
        var assets: [String: Asset] = [:]
        for f in files {
            guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(f.name).path) else {
                throw StudioError(500, "the studio's page is incomplete: \(dir.path)/\(f.name) is missing")
            }
            assets[f.name] = Asset(bytes: [UInt8](data), contentType: f.contentType)
        }
        return WebAssets(assets: assets)
    }
}
