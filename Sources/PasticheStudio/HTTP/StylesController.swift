import Hummingbird

/// `/api/styles` and `/api/map`: the library (docs/studio.md).
struct StylesController {
    let studio: Studio

    func addRoutes(to router: Router<StudioContext>) {
        let styles = router.group("api/styles")
        styles.get { _, _ in try await studio.styles() }
        styles.post { request, context -> EditedResponse<API.Added> in
            let q = request.uri.queryParameters
            let tags = q.getAll("tag").flatMap { $0.split(separator: ",").map(String.init) }
            let bytes = try await StudioContext.body(of: request, limit: context.maxUploadSize)
            let added = try await studio.addStyle(bytes, name: q.get("name"), tags: tags, fileName: q.get("filename"))
            return EditedResponse(status: added.reused ? .ok : .created, response: added)
        }
        styles.get(":name") { _, context in
            API.Style(try await studio.style(try context.parameters.require("name")), withEmbedding: true)
        }
        styles.patch(":name") { request, context in
            let patch = try await request.decode(as: API.Patch.self, context: context)
            return API.Style(try await studio.patch(try context.parameters.require("name"), patch))
        }
        styles.delete(":name") { _, context in
            let name = try context.parameters.require("name")
            try await studio.delete(name)
            return API.Deleted(deleted: name)
        }
        styles.get(":name/thumbnail") { _, context in
            let record = try await studio.style(try context.parameters.require("name"))
            guard !record.thumbnail.isEmpty else { throw StudioError.notFound("style '\(record.name)' has no thumbnail") }
            return ImageResponse(record.thumbnail, contentType: "image/jpeg")
        }
        styles.get(":name/nearest") { request, context in
            let k = try intParameter(request, "k") ?? 5
            return try await studio.nearest(try context.parameters.require("name"), k: k)
        }
        router.get("api/map") { _, _ in try await studio.map() }
    }

    func intParameter(_ request: Request, _ name: String) throws -> Int? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let v = Int(text) else { throw StudioError.badRequest("\(name) must be an integer, got '\(text)'") }
        return v
    }
}
