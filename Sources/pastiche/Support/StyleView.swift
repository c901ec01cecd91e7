import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

/// A library record as `--json` prints it.
struct StyleView: Codable {
    let name: String
    let modelID: String
    let source: String
    let width: Int
    let height: Int
    let added: String
    let tags: [String]
    let recipe: [Component]?
    let embedding: [Float]?
    struct Component: Codable { let name: String; let weight: Float }

    init(_ r: StyleRecord, vector: Bool = false) {
        name = r.name; modelID = r.modelID; source = r.sourceFile
        width = r.sourceWidth; height = r.sourceHeight
        added = ISO8601DateFormatter().string(from: r.addedAt)
        tags = r.tags
        recipe = r.recipe?.map { Component(name: $0.name, weight: $0.weight) }
        embedding = vector ? r.embedding : nil
    }
}
