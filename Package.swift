// swift-tools-version:6.1
import PackageDescription

// Data flows one way: image → tensor → predictor → embedding → library → blend → transfer → image.
// Each library target owns one step; the `pastiche` executable only parses arguments and prints.
let package = Package(
    name: "Pastiche",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pastiche", targets: ["pastiche"]),
        .library(name: "PasticheModels", targets: ["PasticheModels"]),
        .library(name: "PasticheLibrary", targets: ["PasticheLibrary"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        // The studio's HTTP server. No traits: swift-configuration and full Foundation are not
        // needed, and each trait is more to build on a fresh clone.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // Hummingbird's own dependencies, named because the studio uses their types directly
        // (the log on stderr, header names, the body-size error); no extra builds.
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        // The studio's shutdown: its own ServiceGroup, for a bounded graceful-shutdown time.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        // System libraries (Debian packages named in `providers`; scripts/setup.sh installs them).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),

        // libpng and libjpeg report errors by longjmp; Swift cannot unwind through that, so the
        // setjmp sites and error hooks live in this small C target and return status codes.
        .target(name: "CPasticheCodecs", dependencies: ["CPNG", "CJPEG"]),

        // Hand-vectorised kernels (AVX2+FMA chosen at run time, portable C otherwise).
        .target(name: "CPasticheKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Tensor storage and the numeric ops (forward and backward), over cblas_sgemm.
        .target(name: "PasticheCore", dependencies: ["CBLAS", "CPasticheKernels"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        // Decode/encode PNG and JPEG, EXIF orientation, resampling.
        .target(name: "PasticheImage", dependencies: ["CPasticheCodecs"]),
        // The two networks (Predictor/, Transfer/: one architecture, the fused inference forward
        // and the training forward/backward each), embedding arithmetic, ONNX import, safetensors
        // weights, the Stylizer API.
        .target(name: "PasticheModels",
                dependencies: ["PasticheCore", "PasticheImage", "PasticheONNX",
                               .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The ONNX messages (swift-protobuf code generated from training/proto/onnx.proto with
        // package visibility, committed; training/proto/regenerate.sh), a wire-level graph index
        // that leaves big initializers unread, and tensor decoding.
        .target(name: "PasticheONNX", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // What the command-line tool needs beyond the models, and no published product pulls in:
        // $PASTICHE_HOME paths, the pip-driven model fetcher, the benchmark against onnxruntime
        // (its Python side is Resources/ort_bench.py).
        .target(name: "PasticheTools", dependencies: ["PasticheCore", "PasticheModels"],
                resources: [.copy("Resources/ort_bench.py")]),
        // The LMDB style library: embeddings, blends, thumbnails.
        .target(name: "PasticheLibrary", dependencies: ["CLMDB", "PasticheModels"]),
        // Gatys et al.: the content, Gram-style and TV objective over the pixels in VGG-19, L-BFGS
        // and Adam, coarse to fine, the memory estimate.
        .target(name: "PasticheOptimize", dependencies: ["PasticheCore", "PasticheImage", "PasticheModels"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        // Losses, optimiser, data pipeline, checkpoints.
        // Scale-out: the job's ranks (one process, or Open MPI loaded at run time under mpirun).
        .target(name: "PasticheDistributed"),
        .target(name: "PasticheTraining", dependencies: ["PasticheModels", "PasticheLibrary", "PasticheONNX", "PasticheDistributed",
                                                         .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // `pastiche serve`: the web studio (Hummingbird routes, the render queue, the photo
        // cache) and its page, served from the binary's own resources (Resources/Web).
        .target(name: "PasticheStudio",
                dependencies: ["PasticheModels", "PasticheLibrary", "PasticheImage",
                               .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "HTTPTypes", package: "swift-http-types"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               // The one-line JSON 400 for requests that are not HTTP at all.
                               .product(name: "NIOHTTP1", package: "swift-nio"),
                               .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
                resources: [.copy("Resources/Web")]),
        // `pastiche video`: ffmpeg/ffprobe as child processes with raw RGB pipes, frame folders,
        // the overlapped decode → stylize → encode pipeline, temporal smoothing of the norms.
        .target(name: "PasticheVideo", dependencies: ["PasticheModels", "PasticheImage", "PasticheCore"]),
        // Command implementations shared by the executable (logic lives in the libraries above).
        .executableTarget(name: "pastiche",
                          dependencies: ["PasticheModels", "PasticheLibrary", "PasticheTraining", "PasticheTools", "PasticheStudio", "PasticheVideo",
                                         "PasticheDistributed", "PasticheOptimize", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // The untrusted-input parsers as fuzz targets: libFuzzer's entry point when built with
        // -sanitize=fuzzer -DFUZZING (scripts/fuzz.sh), else a replay of files and mutations of
        // them (the test suite's smoke run over Tests/Fuzz/corpus).
        .executableTarget(name: "pastiche-fuzz", dependencies: ["PasticheCore", "PasticheImage", "PasticheLibrary", "PasticheModels"],
                          path: "Sources/PasticheFuzz"),

        // What every test target shares: temporary directories, the child-process launcher,
        // max-difference helpers, and skip-or-require for what lies outside the repository.
        .target(name: "PasticheTestSupport", dependencies: ["PasticheCore", "PasticheImage"],
                path: "Tests/PasticheTestSupport"),

        .testTarget(name: "PasticheCoreTests", dependencies: ["PasticheCore", "PasticheTestSupport"]),
        .testTarget(name: "PasticheImageTests", dependencies: ["PasticheImage", "PasticheTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "PasticheModelsTests", dependencies: ["PasticheModels", "PasticheImage", "PasticheONNX", "PasticheTestSupport"]),
        .testTarget(name: "PasticheOptimizeTests", dependencies: ["PasticheOptimize", "PasticheModels", "PasticheCore", "PasticheImage",
                                                                 "PasticheTestSupport"]),
        .testTarget(name: "PasticheLibraryTests", dependencies: ["PasticheLibrary", "PasticheCore", "PasticheTestSupport"]),
        .testTarget(name: "PasticheTrainingTests", dependencies: ["PasticheTraining", "PasticheONNX", "PasticheTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "PasticheVideoTests", dependencies: ["PasticheVideo", "PasticheImage", "PasticheTestSupport"]),
        .testTarget(name: "PasticheStudioTests", dependencies: ["PasticheStudio", "PasticheLibrary", "PasticheModels", "PasticheImage",
                                                               "PasticheTestSupport"]),
        .testTarget(name: "PasticheONNXTests", dependencies: ["PasticheONNX", "PasticheTestSupport",
                                                             .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "PasticheDistributedTests", dependencies: ["PasticheDistributed", "PasticheTestSupport"]),
        .testTarget(name: "PasticheToolsTests", dependencies: ["PasticheTools", "PasticheModels", "PasticheTestSupport"]),
        .testTarget(name: "PasticheTestSupportTests", dependencies: ["PasticheTestSupport", "PasticheCore", "PasticheImage"]),
        .testTarget(name: "PasticheCLITests", dependencies: ["PasticheCore", "PasticheImage", "PasticheModels",
                                                             "PasticheONNX", "PasticheTools", "PasticheLibrary", "PasticheTestSupport"]),
    ],
    // Numeric kernels share raw buffers across threads by design; Swift 5 mode keeps the
    // concurrency checker from demanding Sendable wrappers around every pointer.
    swiftLanguageModes: [.v5]
)
