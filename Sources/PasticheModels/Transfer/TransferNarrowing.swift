import PasticheCore

extension TransferArchitecture {
    /// The channels a narrower network keeps of a wider one's, as its starting point for
    /// distillation (`train transfer --width`): in every group of channels that flow together,
    /// the `channels(base)` whose outgoing weights are largest in L1 norm (Li et al. 2017,
    /// "Pruning Filters for Efficient ConvNets", scored on the consuming side). The residual
    /// stream is one group, so every block's shortcut adds matching channels.
    ///
    /// Returns the narrower network's transfer parameters, taken from `weights`.
    public func narrowed(from weights: ModelWeights) -> [String: Tensor] {
        let wide = weights.transferArchitecture
        precondition(width <= wide.width, "a narrower network is taken from a wider one")
        let wideLayers = wide.layers, narrowLayers = layers
        // Each layer's input and output group: the channels that flow between them.
        func outputGroup(_ i: Int) -> String {
            let name = wideLayers[i].name
            if name == "transfer.contract.conv3" || (name.hasPrefix("transfer.residual.") && name.hasSuffix("conv2")) { return "stream" }
            return name
        }
        /// Every layer reads what the one before it wrote (a block's first conv and the first
        /// expanding conv read the stream); the first reads the RGB image.
        func inputGroup(_ i: Int) -> String? { i == 0 ? nil : outputGroup(i - 1) }
        // Importance of each channel of each group: the L1 norm of the weights that read it.
        var importance: [String: [Double]] = [:]
        for (i, l) in wideLayers.enumerated() {
            guard let group = inputGroup(i) else { continue }
            let w = weights["\(l.name).weight"]
            let (out, inC, k) = (w.shape[0], w.shape[1], w.shape[2] * w.shape[3])
            var score = importance[group] ?? [Double](repeating: 0, count: inC)
            for o in 0..<out { for c in 0..<inC { for j in 0..<k { score[c] += Double(abs(w.data[(o * inC + c) * k + j])) } } }
            importance[group] = score
        }
        // The kept channels of each group, in their original order.
        var kept: [String: [Int]] = [:]
        for (i, l) in narrowLayers.enumerated() where i < narrowLayers.count - 1 {
            let group = outputGroup(i)
            if kept[group] != nil { continue }
            let score = importance[group]!
            kept[group] = Array(score.indices.sorted { score[$0] > score[$1] }.prefix(l.outChannels)).sorted()
        }
        func outputs(_ i: Int) -> [Int] { i == wideLayers.count - 1 ? [0, 1, 2] : kept[outputGroup(i)]! }
        func inputs(_ i: Int) -> [Int] { inputGroup(i).map { kept[$0]! } ?? [0, 1, 2] }

        var result: [String: Tensor] = [:]
        for (i, l) in narrowLayers.enumerated() {
            let rows = outputs(i), columns = inputs(i)
            result["\(l.name).weight"] = Self.select(weights["\(l.name).weight"], rows: rows, columns: columns)
            result["\(l.name).bias"] = Self.select(weights["\(l.name).bias"], rows: rows, columns: nil)
            if l.normalized {
                for map in [l.gammaName, l.betaName] {
                    result["\(map).weight"] = Self.select(weights["\(map).weight"], rows: rows, columns: nil)
                    result["\(map).bias"] = Self.select(weights["\(map).bias"], rows: rows, columns: nil)
                }
            }
        }
        return result
    }

    /// t[rows, columns, …] of a [O, I, …] (or [O]) tensor; `columns` nil keeps every column.
    static func select(_ t: Tensor, rows: [Int], columns: [Int]?) -> Tensor {
        let inner = t.shape.count > 1 ? t.shape[1] : 1
        let rest = t.shape.dropFirst(2).reduce(1, *)
        let cols = columns ?? Array(0..<inner)
        var shape = t.shape
        shape[0] = rows.count
        if shape.count > 1 { shape[1] = cols.count }
        let out = Tensor(shape: shape)
        var k = 0
        for r in rows {
            for c in cols {
                for j in 0..<rest { out.data[k] = t.data[(r * inner + c) * rest + j]; k += 1 }
            }
        }
        return out
    }
}
