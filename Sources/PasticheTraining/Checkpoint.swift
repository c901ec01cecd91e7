import Foundation
import PasticheCore
import PasticheModels

/// A training checkpoint is a safetensors file: the flat parameter values and Adam's two moment
/// buffers as three tensors, and in its metadata the step, Adam's step, the parameter layout and
/// the whole `TrainingConfig`. The data order and every random draw are functions of
/// (seed, step), so those two are the RNG state and a resumed run is exact.
extension Trainer {
    /// Parameters, Adam moments, step and the full config (the data order and every random
    /// draw are functions of (seed, step), so those two are the RNG state), written atomically.
    public func saveCheckpoint(to path: String) throws {
        let tensors: [String: Tensor] = [
            "values": ParameterSet.flatTensor(params.values, count: params.count),
            "adam.m": ParameterSet.flatTensor(adam.m, count: params.count),
            "adam.v": ParameterSet.flatTensor(adam.v, count: params.count),
        ]
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        let meta: [String: String] = [
            "format": "pastiche-training-checkpoint-1",
            "config": String(decoding: try enc.encode(config), as: UTF8.self),
            "layout": String(decoding: try enc.encode(params.entries), as: UTF8.self),
            "step": "\(step)",
            "adam_step": "\(adam.step)",
            "rng": "splitmix64 derived(seed=\(config.seed), step=\(step))",
        ]
        try Safetensors.write(tensors, metadata: meta, to: path)
        lastCheckpoint = path
    }

    public static func readCheckpointConfig(_ path: String) throws -> TrainingConfig {
        let file = try Safetensors.read(path: path)
        guard file.metadata["format"] == "pastiche-training-checkpoint-1", let c = file.metadata["config"] else {
            throw TrainingError("\(path): not a Pastiche training checkpoint")
        }
        return try TrainingConfig.decodeStored(c, path: path)
    }

    /// Restores parameters, moments and step from a checkpoint of the same configuration.
    public func loadCheckpoint(_ path: String) throws {
        let file = try Safetensors.read(path: path)
        guard let layout = file.metadata["layout"], let s = file.metadata["step"].flatMap(Int.init),
              let a = file.metadata["adam_step"].flatMap(Int.init),
              let values = file.tensors["values"], let m = file.tensors["adam.m"], let v = file.tensors["adam.v"] else {
            throw TrainingError("\(path): not a Pastiche training checkpoint")
        }
        let entries = try JSONDecoder().decode([ParameterSet.Entry].self, from: Data(layout.utf8))
        guard entries == params.entries, values.count == params.count, m.count == params.count, v.count == params.count else {
            throw TrainingError("\(path): parameter layout differs from this run (different --train-transfer?)")
        }
        guard s <= config.steps else {
            throw TrainingError("\(path) has done \(s) steps; give --steps \(s) or more to continue it")
        }
        params.values.baseAddress!.update(from: values.pointer, count: params.count)
        adam.m.baseAddress!.update(from: m.pointer, count: params.count)
        adam.v.baseAddress!.update(from: v.pointer, count: params.count)
        adam.step = a
        step = s
        lastCheckpoint = path
    }

    /// Temporary files of checkpoint writes that a killed run left in the checkpoint directory
    /// (`AtomicFile` names them `.NAME.tmp.PID`); those of live processes are left alone.
    func removeStaleTemporaries() {
        guard let dir = config.checkpointDir,
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(".checkpoint-") {
            guard let pid = name.split(separator: ".").last.flatMap({ Int32($0) }), name.contains(".tmp.") else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(name))
            }
        }
    }

    public func checkpointPath(step: Int) -> String? {
        config.checkpointDir.map { $0 + String(format: "/checkpoint-%08d.safetensors", step) }
    }
}
