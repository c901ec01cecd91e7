import Foundation
import HTTPTypes
import Hummingbird
import PasticheImage

/// `/api/photos`, `/api/render`, `/api/jobs`, `/api/blends` and `/api/stats`: painting
/// (docs/studio.md).
struct RenderController {
    let studio: Studio

    func addRoutes(to router: Router<StudioContext>) {
        let api = router.group("api")
        api.post("photos") { request, context in
            let bytes = try await StudioContext.body(of: request, limit: context.maxUploadSize)
            return EditedResponse(status: .created, response: try await studio.addPhoto(bytes))
        }
        api.post("render") { request, context in
            let r = try await studio.render(try await request.decode(as: API.Render.self, context: context))
            var response = ImageResponse(r.bytes, contentType: Self.contentType(r.format))
            response.headers[HTTPField.Name("Server-Timing")!] = String(format: "render;dur=%.1f", r.milliseconds)
            return response
        }
        api.post("jobs") { request, context in
            EditedResponse(status: .accepted,
                           response: try await studio.startJob(try await request.decode(as: API.Render.self, context: context)))
        }
        api.get("jobs/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let status = studio.jobs.status(id) else { throw StudioError.notFound("no job '\(id)'") }
            return status
        }
        api.get("jobs/:id/result") { _, context in
            let id = try context.parameters.require("id")
            let (bytes, format) = try studio.jobs.result(id)
            var response = ImageResponse(bytes, contentType: Self.contentType(format))
            response.headers[.contentDisposition] = "attachment; filename=\"pastiche-\(id).\(format == .png ? "png" : "jpg")\""
            return response
        }
        api.post("blends") { request, context in
            EditedResponse(status: .created,
                           response: try await studio.saveBlend(try await request.decode(as: API.SaveBlend.self, context: context)))
        }
        api.get("stats") { _, _ in studio.stats() }
    }

    static func contentType(_ format: ImageFormat) -> String { format == .png ? "image/png" : "image/jpeg" }
}
