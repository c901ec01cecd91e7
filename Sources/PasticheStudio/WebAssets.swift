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

    /// The kinds of file the page is made of; anything else in the folder is not served.
    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "js": "text/javascript; charset=utf-8",  // ES modules too: browsers need a JavaScript type
        "svg": "image/svg+xml",
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
        // Every page file in the folder (the ES modules that studio.js imports among them),
        // read now: the table is fixed before the first request.
        var assets: [String: Asset] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for name in names.sorted() where !name.hasPrefix(".") {
            guard let type = contentTypes[(name as NSString).pathExtension.lowercased()] else { continue }
            guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else {
                throw StudioError(500, "the studio's page is incomplete: \(dir.path)/\(name) cannot be read")
            }
            assets[name] = Asset(bytes: [UInt8](data), contentType: type)
        }
        return WebAssets(assets: assets)
    }
}
