import Dispatch
import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary
import PasticheModels

/// What the studio does, without HTTP: the routes (StudioRoutes.swift) only decode requests
/// and encode these results. Network work runs on one bounded compute queue; LMDB work on a
/// second serial queue, so browsing the gallery never waits behind a full-size render, and no
/// LMDB transaction ever spans an `await`.
public final class Studio: @unchecked Sendable {
    public let configuration: StudioConfiguration
    let library: StyleLibrary
    let stylizer: Stylizer
    let photos: PhotoCache
    let compute: WorkQueue
    let storage: WorkQueue
    let jobs: RenderJobs
    let renderTimes = Percentile(window: 2000)

    public init(configuration: StudioConfiguration, library: StyleLibrary, stylizer: Stylizer) {
        self.configuration = configuration
        self.library = library
        self.stylizer = stylizer
        photos = PhotoCache(budget: configuration.photoCacheBytes)
        compute = WorkQueue(label: "pastiche.studio.compute", limit: configuration.maxQueuedJobs)
        storage = WorkQueue(label: "pastiche.studio.library", limit: 256)
        jobs = RenderJobs(kept: configuration.keptResults)
        modelStyle = Self.modelStyle(of: stylizer)
    }

    // MARK: Library

    /// A per-style model's own style, listed and painted like a library style (tagged `model`)
    /// though the library does not hold it; a library style of the same name comes first.
    let modelStyle: StyleRecord?

    /// The record of the model's own style, its thumbnail the style painted on a smooth test
    /// pattern (there is no style image to show).
    static func modelStyle(of stylizer: Stylizer) -> StyleRecord? {
        guard let own = stylizer.weights.ownStyle else { return nil }
        let side = StyleLibrary.thumbnailSize
        var pattern = RGBImage(width: side, height: side)
        for y in 0..<side {
            for x in 0..<side {
                let u = Float(x) / Float(side), v = Float(y) / Float(side)
                pattern.setPixel(x: x, y: y, (0.25 + 0.5 * u, 0.5 + 0.3 * sin(6 * v), 0.75 - 0.5 * u * v))
            }
        }
        let painted = stylizer.stylize(pattern, embedding: own.embedding)
        return StyleRecord(name: own.name, embedding: own.embedding, modelID: stylizer.predictorID, tags: ["model"],
                           thumbnail: (try? ImageIO.encode(painted, format: .jpeg, quality: 85)) ?? [])
    }

    /// The model's own style when `name` is it and the library holds no style of that name.
    private func modelStyle(named name: String, in store: StyleStore) throws -> StyleRecord? {
        guard let modelStyle, modelStyle.name == name, try !store.contains(name) else { return nil }
        return modelStyle
    }

    func styles() async throws -> API.StyleList {
        try await storage.run {
            let scan = try self.library.store.scan()
            let own = self.modelStyle.flatMap { try? self.modelStyle(named: $0.name, in: self.library.store) }
            return API.StyleList(styles: (own.map { [$0] } ?? []).map { API.Style($0) } + scan.records.map { API.Style($0) },
                                 damaged: scan.damaged.map(\.name))
        }
    }

    func style(_ name: String) async throws -> StyleRecord {
        try StyleName.validate(name)
        return try await storage.run { try self.modelStyle(named: name, in: self.library.store) ?? self.library.store.get(name) }
    }

    /// Embeds and stores an uploaded image, or finds the same pixels already embedded by this
    /// predictor (then `reused`, and nothing but an explicit name or tags changes).
    func addStyle(_ bytes: [UInt8], name: String?, tags: [String], fileName: String?) async throws -> API.Added {
        if let name { try StyleName.validate(name) }
        for t in tags { try StyleName.validate(t, what: "tag") }
        let source = fileName.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "upload"
        let maxPixels = configuration.maxPixels
        let image = try await compute.run { try ImageIO.decode(bytes, name: source, maxPixels: maxPixels) }
        let hash = try await compute.run { StyleLibrary.pixelHash(image) }
        let model = stylizer.predictorID
        let cached = try await storage.run { try self.library.store.lookup(pixelHash: hash, modelID: model) != nil }
        let prepared: StyleLibrary.PreparedStyle
        if cached {
            prepared = .init(sourceFile: source, pixelHash: hash, width: image.width, height: image.height,
                             embedding: nil, thumbnail: [])
        } else {
            prepared = try await compute.run {
                .init(sourceFile: source, pixelHash: hash, width: image.width, height: image.height,
                      embedding: self.stylizer.embedding(style: image), thumbnail: try StyleLibrary.thumbnail(image))
            }
        }
        let added = try await storage.run {
            try self.library.add(prepared, name: name, tags: tags, stylizer: self.stylizer)
        }
        return API.Added(style: API.Style(added.record), reused: added.reused)
    }

    /// Renames and/or replaces the tag set.
    func patch(_ name: String, _ p: API.Patch) async throws -> StyleRecord {
        try StyleName.validate(name)
        if let new = p.name { try StyleName.validate(new) }
        for t in p.tags ?? [] { try StyleName.validate(t, what: "tag") }
        return try await storage.run {
            let store = self.library.store
            var record = try store.get(name)
            // A taken new name is refused before the tags change, so a 409 changes nothing.
            if let new = p.name, new != name, try store.contains(new) { throw StyleStoreError.nameTaken(new) }
            if let tags = p.tags {
                let wanted = Set(tags), have = Set(record.tags)
                if !have.subtracting(wanted).isEmpty { record = try store.removeTags(name, Array(have.subtracting(wanted))) }
                if !wanted.subtracting(have).isEmpty { record = try store.addTags(name, Array(wanted.subtracting(have))) }
            }
            if let new = p.name, new != name { record = try store.rename(name, to: new) }
            return record
        }
    }

    func delete(_ name: String) async throws {
        try StyleName.validate(name)
        try await storage.run {
            _ = try self.library.store.get(name)  // 404 with suggestions for an unknown name
            try self.library.store.remove([name])
        }
    }

    func nearest(_ name: String, k: Int) async throws -> API.Nearest {
        try StyleName.validate(name)
        guard (1...1000).contains(k) else { throw StudioError.badRequest("k must be from 1 to 1000, got \(k)") }
        return try await storage.run {
            let record = try self.library.store.get(name)
            let found = try self.library.store.nearest(to: record.embedding, k: k, excluding: name)
            return API.Nearest(nearest: found.map { API.Neighbor(name: $0.record.name, distance: $0.cosineDistance) })
        }
    }

    /// The library's styles of this model's kind (embeddings of its length: a Ghiasi and an
    /// AdaIN style share no space) on their first two principal components (StyleMap).
    func map() async throws -> API.Map {
        let size = stylizer.embeddingSize
        let records = try await storage.run { try self.library.store.scan().records.filter { $0.embedding.count == size } }
        let points = StyleMap.project(records.map(\.embedding))
        return API.Map(points: zip(records, points).map { API.MapPoint(name: $0.0.name, x: $0.1.x, y: $0.1.y) })
    }

    // MARK: Photos and renders

    func addPhoto(_ bytes: [UInt8]) async throws -> API.Photo {
        let id = PhotoCache.id(of: bytes)
        if let size = photos.size(of: id) { return API.Photo(photo: id, width: size.width, height: size.height) }
        let maxPixels = configuration.maxPixels
        let image = try await compute.run { try ImageIO.decode(bytes, name: "photo", maxPixels: maxPixels) }
        try photos.insert(id, image)
        return API.Photo(photo: id, width: image.width, height: image.height)
    }

    /// A checked render request: the styles resolved, ready for the queue. Mask images stay
    /// in the photo cache (by id) until the render runs.
    struct RenderPlan {
        let photo: String
        /// Resolved styles and options; its masks (and their feather and invert) are filled in
        /// from `masks` when painting.
        let painting: Painting
        var masks: [String] = []
        var feather: Double = 0
        var invertMask = false
        let maxSize: Int?
        let format: ImageFormat
        let quality: Int
    }

    func plan(_ r: API.Render) async throws -> RenderPlan {
        var options = PaintingOptions()
        options.strength = r.strength ?? 1
        guard options.strength.isFinite, (0...1).contains(options.strength) else {
            throw StudioError.badRequest("strength must be in [0, 1], got \(options.strength)")
        }
        if let m = r.max_size, m < 16 || m > 1 << 16 {
            throw StudioError.badRequest("max_size must be from 16 to 65536, got \(m)")
        }
        let format: ImageFormat
        switch r.format ?? "png" {
        case "png": format = .png
        case "jpeg", "jpg": format = .jpeg
        case let other: throw StudioError.badRequest("format must be png or jpeg, got '\(other)'")
        }
        let quality = r.quality ?? ImageIO.defaultQuality
        guard (1...100).contains(quality) else { throw StudioError.badRequest("quality must be in 1...100, got \(quality)") }
        let masks = r.masks ?? []
        let feather = r.feather ?? 0
        guard feather.isFinite, (0...1000).contains(feather) else {
            throw StudioError.badRequest("feather must be from 0 to 1000 pixels, got \(feather)")
        }
        if !masks.isEmpty && masks.count != r.styles.count {
            throw StudioError.badRequest("masks: \(masks.count) for \(r.styles.count) styles; give one per style")
        }
        let invertMask = r.invert_mask ?? false
        if invertMask && masks.count != 1 { throw StudioError.badRequest("invert_mask takes one mask") }
        if let text = r.stroke_scale?.text {
            guard let parsed = StrokeScale(text) else {
                throw StudioError.badRequest("stroke_scale must be a number from \(StrokeScale.range.lowerBound) to \(StrokeScale.range.upperBound) or \"native\", got '\(text)'")
            }
            options.strokeScale = parsed
        }
        options.preserveColor = r.preserve_color ?? false
        // With masks the masks set the mix per pixel, and the weights are unused.
        let painting = try await resolve(r.styles, weighted: masks.isEmpty, options: options)
        for id in [r.photo] + masks where !photos.contains(id) {
            throw StudioError.notFound("no photo '\(id)' here (never uploaded, or dropped from the cache): upload it again")
        }
        return RenderPlan(photo: r.photo, painting: painting, masks: masks, feather: feather, invertMask: invertMask,
                          maxSize: r.max_size, format: format, quality: quality)
    }

    /// The styles by library name (the studio never reads files: images arrive as uploads),
    /// resolved by the CLI's rule (`StyleResolver`), with the weights normalised as
    /// `pastiche blend` does. `weighted: false`: the weights are left out (masks set the mix).
    func resolve(_ styles: [API.Component], weighted: Bool = true, options: PaintingOptions = PaintingOptions()) async throws -> Painting {
        guard !styles.isEmpty else { throw StudioError.badRequest("styles must name at least one style") }
        guard styles.count <= 64 else { throw StudioError.badRequest("at most 64 styles in one mix, got \(styles.count)") }
        for s in styles { try StyleName.validate(s.name) }
        var options = options
        options.weights = weighted ? try BlendWeights(styles.map(\.weight)) : nil
        let resolved = try await storage.run {
            let resolver = StyleResolver(stylizer: self.stylizer, library: self.library)
            return try styles.map {
                if let own = try self.modelStyle(named: $0.name, in: self.library.store) {
                    return Painting.Style(name: own.name, embedding: own.embedding)
                }
                return try resolver.resolve(.name($0.name)).style
            }
        }
        return try Painting(styles: resolved, options: options)
    }

    /// On the compute queue: exactly `pastiche stylize`/`blend` on the cached photo.
    func paint(_ p: RenderPlan, progress: ((Double) -> Void)? = nil) throws -> RGBImage {
        let content = try photos.content(p.photo, maxSize: p.maxSize)
        var painting = p.painting
        var masks: StyleMasks?
        if !p.masks.isEmpty {
            var options = painting.options
            options.masks = try p.masks.map { try photos.content($0, maxSize: nil) }
            options.feather = p.feather
            options.invertMask = p.invertMask
            painting = try Painting(styles: painting.styles, options: options)
            // In the uploaded photo's pixels: a preview blurs its edges as the full render does.
            let original = photos.size(of: p.photo)?.width ?? content.width
            masks = try painting.masks(width: content.width, height: content.height,
                                       featherScale: Double(content.width) / Double(original))
        }
        return try painting.paint(content, with: stylizer, masks: masks,
                                  ownEmbedding: { try self.photos.ownEmbedding(p.photo, maxSize: p.maxSize) { self.stylizer.embedding(style: content) } },
                                  progress: progress)
    }

    struct Rendered {
        let bytes: [UInt8]
        let format: ImageFormat
        let milliseconds: Double
    }

    func render(_ r: API.Render) async throws -> Rendered {
        let p = try await plan(r)
        return try await compute.run {
            let start = DispatchTime.now().uptimeNanoseconds
            let bytes = try ImageIO.encode(try self.paint(p), format: p.format, quality: p.quality)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            self.renderTimes.add(ms)
            return Rendered(bytes: bytes, format: p.format, milliseconds: ms)
        }
    }

    /// A render the client polls (`GET /api/jobs/ID`): full-size renders take seconds.
    func startJob(_ r: API.Render) async throws -> API.Job {
        let p = try await plan(r)
        let id = jobs.create()
        do {
            try compute.submit {
                self.jobs.update(id, state: "running", progress: 0)
                do {
                    let image = try self.paint(p) { self.jobs.update(id, state: "running", progress: $0 * 0.95) }
                    let bytes = try ImageIO.encode(image, format: p.format, quality: p.quality)
                    self.jobs.finish(id, result: bytes, format: p.format)
                } catch {
                    self.jobs.fail(id, StudioError.from(error).message)
                }
            }
        } catch {
            jobs.fail(id, StudioError.from(error).message)
            throw error
        }
        return jobs.status(id)!
    }

    /// Stores a mix as a library style with its recipe (as `blend --save-as`); with a photo,
    /// the thumbnail is the blend painted on it.
    func saveBlend(_ b: API.SaveBlend) async throws -> API.Style {
        try StyleName.validate(b.name)
        for t in b.tags ?? [] { try StyleName.validate(t, what: "tag") }
        let painting = try await resolve(b.styles)
        if try await storage.run({ try self.library.store.contains(b.name) }) { throw StyleStoreError.nameTaken(b.name) }
        var thumbnail: RGBImage?
        if let photo = b.photo, photos.contains(photo) {
            let plan = RenderPlan(photo: photo, painting: painting, maxSize: StyleLibrary.thumbnailSize, format: .jpeg, quality: 85)
            thumbnail = try await compute.run { try self.paint(plan) }
        }
        let model = stylizer.weights.styleOwnerID
        let tags = b.tags ?? []
        let components = zip(painting.styles, painting.weights).map { RecipeComponent(name: $0.0.name, weight: $0.1) }
        let record = try await storage.run {
            var r = try self.library.saveBlend(name: b.name, components: components, embedding: painting.embedding,
                                               modelID: model, thumbnail: thumbnail)
            if !tags.isEmpty { r = try self.library.store.addTags(r.name, tags) }
            return r
        }
        return API.Style(record)
    }

    func stats() -> API.Stats {
        let (count, bytes) = photos.summary
        return API.Stats(renders: renderTimes.summary, queued: compute.waiting, photos: count, photo_cache_bytes: bytes)
    }
}

/// The last `window` timings, for the p50/p95/p99 that `GET /api/stats` reports.
final class Percentile: @unchecked Sendable {
    private let window: Int
    private let lock = NSLock()
    private var values: [Double] = []
    private var total = 0

    init(window: Int) { self.window = window }

    func add(_ v: Double) {
        lock.withLock {
            values.append(v)
            total += 1
            if values.count > window { values.removeFirst(values.count - window) }
        }
    }

    var summary: API.Percentiles {
        let sorted = lock.withLock { values.sorted() }
        func q(_ p: Double) -> Double? {
            sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
        }
        return API.Percentiles(count: lock.withLock { total }, p50_ms: q(0.5), p95_ms: q(0.95), p99_ms: q(0.99))
    }
}
