import Foundation
import PasticheCore

extension StyleStore {
    /// Every style as a NumPy `.npz` that `numpy.load` reads directly, for web and Python apps
    /// that run the exported ONNX graphs: `names` [K], `embeddings` [K, 100] float32 (the
    /// stored bits), `predictor_ids` [K] (the predictor each embedding belongs to) and `tags`
    /// [K] (comma-separated). Rows are in name order; damaged records are left out and named.
    public func exportNPZ() throws -> (data: Data, damaged: [DamagedRecord]) {
        let scan = try scan()
        return (Self.exportNPZ(scan.records), scan.damaged)
    }

    public static func exportNPZ(_ records: [StyleRecord]) -> Data {
        // Every stored record passed `validate`, so every embedding has `embeddingSize` values.
        let size = embeddingSize
        return Numpy.npz([
            ("names", Numpy.npy(records.map(\.name))),
            ("embeddings", Numpy.npy(records.flatMap(\.embedding), shape: [records.count, size])),
            ("predictor_ids", Numpy.npy(records.map(\.modelID))),
            ("tags", Numpy.npy(records.map { $0.tags.joined(separator: ",") })),
        ])
    }
}
