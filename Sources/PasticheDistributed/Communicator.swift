import Foundation

/// The ranks of one job and the collectives Pastiche needs from them: data-parallel training
/// averages gradients with one allreduce over the flat gradient buffer; distributed `stylize` and
/// `embed add` split files by rank and send records to rank 0.
///
/// Two implementations: `SingleProcess` (one rank, no MPI library touched) and `OpenMPI`
/// (libmpi loaded at run time, only under `mpirun … --distributed`).
public protocol Communicator: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// In place: every rank's `buffer` becomes the element-wise sum over ranks (the same bits on
    /// every rank: Open MPI's reductions of a commutative op give all ranks one result).
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>)
    /// In place: rank `root`'s bytes on every rank (`buffer` has the same size everywhere).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int)
    /// A message of any length to one rank (blocking until it is buffered or received).
    func send(_ bytes: [UInt8], to rank: Int, tag: Int)
    /// The next message from `rank` with `tag`, whatever its length.
    func receive(from rank: Int, tag: Int) -> [UInt8]
    func barrier()
    /// Ends the job cleanly (MPI_Finalize); every rank calls it once, after its last message.
    func finish()
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// The slots of `count` items that this rank owns: a contiguous slice of equal parts
    /// (training batches, where `count` divides by `size`).
    public func slice(of count: Int) -> Range<Int> {
        precondition(count % size == 0, "\(count) items do not split over \(size) ranks")
        let part = count / size
        return rank * part..<(rank + 1) * part
    }

    /// The rank that handles item `i` of a list split round-robin (files r, r + N, … go to rank r).
    public func owner(of i: Int) -> Int { i % size }

    /// Rank `root`'s value of a plain scalar, on every rank.
    public func broadcast<T: BitwiseCopyable>(_ value: T, root: Int = 0) -> T {
        guard size > 1 else { return value }
        var v = value
        withUnsafeMutableBytes(of: &v) { broadcast($0, root: root) }
        return v
    }
}

/// One process, no MPI: what `--distributed` means without `mpirun`, and what every command is
/// without the flag. Collectives over one rank are the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {}
    public func send(_ bytes: [UInt8], to rank: Int, tag: Int) { preconditionFailure("one rank sends no messages") }
    public func receive(from rank: Int, tag: Int) -> [UInt8] { preconditionFailure("one rank receives no messages") }
    public func barrier() {}
    public func finish() {}
}

/// Where this process stands in an MPI launch, read from the environment `mpirun` (Open MPI)
/// sets, without loading any MPI library.
public struct Launch: Sendable, Equatable {
    public let rank: Int
    public let size: Int

    /// nil when the process was not started by Open MPI's `mpirun`.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Launch? {
        guard let size = env["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), let rank = env["OMPI_COMM_WORLD_RANK"].flatMap(Int.init),
              size >= 1, (0..<size).contains(rank) else { return nil }
        return Launch(rank: rank, size: size)
    }
}

public struct DistributedError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

public enum Distributed {
    /// The communicator of a `--distributed` command: `SingleProcess` without `mpirun`, else
    /// Open MPI, loaded now.
    public static func join(environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> any Communicator {
        guard Launch.fromEnvironment(env) != nil else { return SingleProcess() }
        return try OpenMPI.initialize()
    }
}
