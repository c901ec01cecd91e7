import Foundation
import PasticheCore
import PasticheONNX

// MARK: AdaIN

extension ONNXExporter {
    /// An AdaIN model as the same pair of graphs a Ghiasi model exports, with 1024-value styles:
    /// `predictor` takes style_image [N, H, W, 3] in [0, 1] to style_embedding [N, 1024] (the
    /// mean, then the standard deviation, of relu4_1); `transfer` takes content_image and
    /// style_embedding to stylized_image [N, H, W, 3], clamped to [0, 1] and cropped to the
    /// content's size, as `Stylizer` paints at the photo's own size. Pastiche gives the
    /// predictor the style at shortest side 512 (`Stylizer.adainStyleSide`); `--strength` s is
    /// the embedding mixed with the content's own (s·style + (1 − s)·own, exactly the
    /// authors' α on the features).
    public static func adain(_ weights: ModelWeights, provenance: Provenance) throws -> (predictor: Data, transfer: Data) {
        precondition(weights.isAdaIN, "not an AdaIN model")
        let image: [GraphBuilder.Dimension] = [.symbolic("N"), .symbolic("H"), .symbolic("W"), .fixed(3)]
        let styleDims: [GraphBuilder.Dimension] = [.symbolic("N"), .fixed(AdaINArchitecture.styleSize)]
        let channels = AdaINArchitecture.featureChannels

        /// The encoder from an NHWC image input to relu4_1, and that tensor's mean and std
        /// [N, 512, 1, 1] (ChannelMoments: unbiased variance + ε).
        func encoder(_ g: inout GraphBuilder, input: String) -> (features: String, mean: String, std: String) {
            var x = g.node("Transpose", [input], [.ints("perm", [0, 3, 1, 2])], name: "to_nchw")
            for l in AdaINArchitecture.encoder {
                if l.resampleBefore {
                    x = g.node("MaxPool", [x], [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2]), .int("ceil_mode", 1)],
                               name: l.name + ".pool")
                }
                x = conv(&g, l, x)
            }
            let axes = g.int64s("axes_2_3", [2, 3])
            let mean = g.node("ReduceMean", [x], [.ints("axes", [2, 3]), .int("keepdims", 1)], name: "moments.mean")
            let centered = g.node("Sub", [x, mean], name: "moments")
            let squares = g.node("ReduceSum", [g.node("Mul", [centered, centered], name: "moments"), axes], [.int("keepdims", 1)],
                                 name: "moments")
            // H·W − 1 from the features' shape: the unbiased variance's divisor.
            let shape = g.node("Shape", [x], name: "moments.size")
            let plane = g.node("ReduceProd", [g.node("Slice", [shape, g.int64s("two", [2]), g.int64s("four", [4]), g.int64s("zero", [0])],
                                                     name: "moments.size")], [.int("keepdims", 1)], name: "moments.size")
            let count = g.node("Sub", [g.node("Cast", [plane], [.int("to", 1)], name: "moments.size"), g.constant("one_f", [1])],
                               name: "moments.size")
            let variance = g.node("Div", [squares, count], name: "moments.variance")
            let std = g.node("Sqrt", [g.node("Add", [variance, g.constant("adain_epsilon", [ChannelMoments.epsilon])], name: "moments")],
                             name: "moments.std")
            return (x, mean, std)
        }

        func conv(_ g: inout GraphBuilder, _ l: AdaINArchitecture.Layer, _ input: String, upsample: Bool = false) -> String {
            var y = input
            if upsample {
                y = g.node("Resize", [y, "", g.constant("scales_up2", [1, 1, 2, 2])],
                           [.string("mode", "nearest"), .string("coordinate_transformation_mode", "asymmetric"),
                            .string("nearest_mode", "floor")], name: l.name + ".upsample")
            }
            let p = l.kernel / 2
            if p > 0 {
                y = g.node("Pad", [y, g.int64s("pads_\(p)", [0, 0, p, p, 0, 0, p, p])], [.string("mode", "reflect")], name: l.name)
            }
            let w = weights[l.weightName], b = weights[l.biasName]
            let wName = g.initializer(l.weightName, dims: w.shape, values: UnsafeBufferPointer(w.data))
            let bName = g.initializer(l.biasName, dims: b.shape, values: UnsafeBufferPointer(b.data))
            y = g.node("Conv", [y, wName, bName], [.ints("kernel_shape", [l.kernel, l.kernel]), .ints("pads", [0, 0, 0, 0]),
                                                   .ints("strides", [1, 1])], name: l.name)
            return l.relu ? g.node("Relu", [y], name: l.name) : y
        }

        var p = GraphBuilder(name: "pastiche_adain_style")
        p.input(styleImageInput, image)
        let style = encoder(&p, input: styleImageInput)
        let flat = [style.mean, style.std].map { p.node("Flatten", [$0], [.int("axis", 1)], name: "embedding") }
        p.node("Concat", flat, [.int("axis", 1)], name: "embedding", output: embeddingName)
        p.output(embeddingName, styleDims)

        var t = GraphBuilder(name: "pastiche_adain_transfer")
        t.input(contentImageInput, image)
        t.input(embeddingName, styleDims)
        let content = encoder(&t, input: contentImageInput)
        let unsqueeze = t.int64s("axes_2_3", [2, 3])
        func half(_ start: Int, _ name: String) -> String {
            let slice = t.node("Slice", [embeddingName, t.int64s("start_\(start)", [start]), t.int64s("end_\(start + channels)", [start + channels]),
                                         t.int64s("axis_1", [1])], name: name)
            return t.node("Unsqueeze", [slice, unsqueeze], name: name)
        }
        let styleMean = half(0, "style.mean"), styleStd = half(channels, "style.std")
        // t = σ_s · (f − μ) / σ + μ_s
        let normalized = t.node("Div", [t.node("Sub", [content.features, content.mean], name: "adain"), content.std], name: "adain")
        var x = t.node("Add", [t.node("Mul", [normalized, styleStd], name: "adain"), styleMean], name: "adain")
        for l in AdaINArchitecture.decoder { x = conv(&t, l, x, upsample: l.resampleBefore) }
        x = t.node("Clip", [x, t.filled("zero_f", dims: [], value: 0), t.filled("one_clip_f", dims: [], value: 1)], name: "clamp")
        // Crop to the content's size (the decoder gives back a multiple of 8).
        let size = t.node("Slice", [t.node("Shape", [contentImageInput], name: "size"), t.int64s("one", [1]), t.int64s("three", [3]),
                                    t.int64s("zero", [0])], name: "size")
        x = t.node("Slice", [x, t.int64s("zeros_2", [0, 0]), size, t.int64s("axes_2_3", [2, 3])], name: "crop")
        t.node("Transpose", [x], [.ints("perm", [0, 2, 3, 1])], name: "to_nhwc", output: stylizedImageOutput)
        t.output(stylizedImageOutput, image)

        func meta(_ graph: String) -> [String: String] {
            var m = weights.metadata
            m["architecture"] = ModelWeights.adainArchitecture
            m["predictor_id"] = weights.predictorID
            m["pastiche_version"] = provenance.pasticheVersion
            m["embedding_size"] = String(AdaINArchitecture.styleSize)
            m["graph"] = graph
            return m
        }
        return (try serialize(p.model(opset: opset, producer: producer, version: provenance.pasticheVersion, metadata: meta("predictor"))),
                try serialize(t.model(opset: opset, producer: producer, version: provenance.pasticheVersion, metadata: meta("transfer"))))
    }
}
