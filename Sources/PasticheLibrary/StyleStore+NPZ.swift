import Foundation
import PasticheCore

extension StyleStore {
    /// Every style as a NumPy `.npz` that `numpy.load` reads directly, for web and Python apps
    /// that run the exported ONNX graphs: `names` [K], `embeddings` [K, 100] float32 (the
    /// stored bits), `predictor_ids` [K] (the predictor each embedding belongs to) and `tags`
    /// [K] (comma-separated), and AdaIN styles likewise as `adain_…` [K', 1024]. Rows are in
    /// name order; damaged records are left out and named.
    public func exportNPZ() throws -> (data: Data, damaged: [DamagedRecord]) {
        let scan = try scan()
        return (Self.exportNPZ(scan.records), scan.damaged)
    }

    public static func exportNPZ(_ records: [StyleRecord]) -> Data {
        // One [K, N] matrix per embedding length: Ghiasi styles (100) as `names`, `embeddings`,
        // `predictor_ids`, `tags`; AdaIN styles (1024), when there are any, under the same
        // names prefixed `adain_`, with `adain_model_ids`.
        var arrays: [(name: String, npy: Data)] = []
        for (size, prefix) in [(100, ""), (1024, "adain_")] {
            let rows = records.filter { $0.embedding.count == size }
            if rows.isEmpty && size != 100 { continue }
            arrays += [
                ("\(prefix)names", Numpy.npy(rows.map(\.name))),
                ("\(prefix)embeddings", Numpy.npy(rows.flatMap(\.embedding), shape: [rows.count, size])),
                (prefix.isEmpty ? "predictor_ids" : "adain_model_ids", Numpy.npy(rows.map(\.modelID))),
                ("\(prefix)tags", Numpy.npy(rows.map { $0.tags.joined(separator: ",") })),
            ]
        }
        return Numpy.npz(arrays)
    }
}
