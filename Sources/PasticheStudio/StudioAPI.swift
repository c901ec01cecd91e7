import Foundation
import Hummingbird
import PasticheLibrary

/// The JSON the studio speaks (docs/studio.md lists every endpoint); each answer is
/// `ResponseEncodable`, encoded by the context's `StudioJSON`. Field names are the API's,
/// snake_case, so they read the same in JavaScript, Python and curl.
enum API {
    struct Style: ResponseEncodable {
        let name: String
        let tags: [String]
        let width: Int
        let height: Int
        let blend: Bool
        let thumbnail: String?
        let source: String
        /// ISO 8601, as every `--json` has dates (docs/json.md).
        let added: String
        let recipe: [Component]?
        /// Only for one style (`GET /api/styles/{name}`): the predictor and the 100 numbers, as
        /// `embed show --json --vector` has them.
        let model_id: String?
        let embedding: [Float]?

        init(_ r: StyleRecord, withEmbedding: Bool = false) {
            name = r.name
            tags = r.tags
            width = r.sourceWidth
            height = r.sourceHeight
            blend = r.recipe != nil
            thumbnail = r.thumbnail.isEmpty ? nil : "/api/styles/\(r.name)/thumbnail"
            source = r.sourceFile
            added = ISO8601DateFormatter().string(from: r.addedAt)
            recipe = r.recipe?.map { Component(name: $0.name, weight: $0.weight) }
            model_id = withEmbedding ? r.modelID : nil
            embedding = withEmbedding ? r.embedding : nil
        }
    }

    struct StyleList: ResponseEncodable {
        let styles: [Style]
        /// Records that could not be read (`embed salvage` repairs them); the rest are listed.
        let damaged: [String]
    }

    struct Added: ResponseEncodable {
        let style: Style
        let reused: Bool
    }

    struct Component: Codable {
        let name: String
        let weight: Float
    }

    struct Neighbor: Encodable {
        let name: String
        let distance: Float
    }

    struct Nearest: ResponseEncodable { let nearest: [Neighbor] }

    struct MapPoint: Encodable {
        let name: String
        let x: Float
        let y: Float
    }

    struct Map: ResponseEncodable { let points: [MapPoint] }

    struct Photo: ResponseEncodable {
        let photo: String
        let width: Int
        let height: Int
    }

    struct Render: Decodable {
        let photo: String
        let styles: [Component]
        let strength: Float?
        let preserve_color: Bool?
        let max_size: Int?
        let format: String?
        let quality: Int?
        /// Uploaded mask images (POST /api/photos ids), one per style: a style per region as
        /// `stylize --masks` (the styles' weights are then unused; one style, one mask: `--mask`).
        let masks: [String]?
        /// Mask edge blur in pixels of the uploaded photo (scaled with max_size, so a preview
        /// blurs as the full-size render does).
        let feather: Double?
        let invert_mask: Bool?
        /// A number (`--stroke-scale`) or "native"; default 1, as on the command line.
        let stroke_scale: StrokeScaleText?
    }

    /// A JSON number or string, kept as text for `StrokeScale(_:)` to check in `Studio.plan`.
    struct StrokeScaleText: Decodable {
        let text: String

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let number = try? c.decode(Double.self) { text = String(number) } else { text = try c.decode(String.self) }
        }
    }

    struct SaveBlend: Decodable {
        let name: String
        let styles: [Component]
        let tags: [String]?
        /// A cached photo to paint the blend's thumbnail with (as `blend --save-as` uses its first result).
        let photo: String?
    }

    struct Patch: Decodable {
        let name: String?
        let tags: [String]?
    }

    struct Deleted: ResponseEncodable { let deleted: String }

    struct Job: ResponseEncodable {
        let job: String
        let state: String
        let progress: Double
        let error: String?
        let result: String?
    }

    struct Percentiles: Encodable {
        let count: Int
        let p50_ms: Double?
        let p95_ms: Double?
        let p99_ms: Double?
    }

    struct Stats: ResponseEncodable {
        let renders: Percentiles
        let queued: Int
        let photos: Int
        let photo_cache_bytes: Int
    }

    struct Failure: ResponseEncodable { let error: String }
}
