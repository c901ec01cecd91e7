import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Open MPI, loaded at run time with dlopen: the binary links no MPI library, so nothing but
/// `--distributed` under `mpirun` needs Open MPI installed (Debian: openmpi-bin, libopenmpi3).
///
/// The handles MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM … are, in Open MPI's ABI (mpi.h's
/// OMPI_PREDEFINED_GLOBAL), the addresses of exported globals; dlsym gives them directly.
/// `libmpi.so.40` is Open MPI's soname since 3.0 (MPICH's is libmpi.so.12, another ABI).
public final class OpenMPI: Communicator, @unchecked Sendable {
    public static let library = "libmpi.so.40"

    public let rank: Int
    public let size: Int
    private let api: API
    private var finished = false

    /// One instance per process: MPI_Init may run once.
    nonisolated(unsafe) private static var shared: OpenMPI?
    private static let lock = NSLock()

    public static func initialize() throws -> OpenMPI {
        lock.lock(); defer { lock.unlock() }
        if let shared { return shared }
        let api = try API.load()
        var provided: Int32 = 0
        // MPI_THREAD_FUNNELED (1): the compute threads never call MPI, only the main thread does.
        try api.check(api.initThread(nil, nil, 1, &provided), "MPI_Init_thread")
        var r: Int32 = 0, s: Int32 = 0
        try api.check(api.commRank(api.commWorld, &r), "MPI_Comm_rank")
        try api.check(api.commSize(api.commWorld, &s), "MPI_Comm_size")
        let mpi = OpenMPI(api: api, rank: Int(r), size: Int(s))
        shared = mpi
        return mpi
    }

    private init(api: API, rank: Int, size: Int) {
        self.api = api; self.rank = rank; self.size = size
    }

    // MPI counts are Int32: long buffers go in chunks.
    private static let chunk = 1 << 28

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        reduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, stride: 4, type: api.float)
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        reduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, stride: 8, type: api.double)
    }

    private func reduce(_ base: UnsafeMutableRawPointer?, count: Int, stride: Int, type: OpaquePointer) {
        guard let base, count > 0 else { return }
        var start = 0
        while start < count {
            let n = min(Self.chunk, count - start)
            fatalOnError(api.allreduce(Self.inPlace, base + start * stride, Int32(n), type, api.sum, api.commWorld), "MPI_Allreduce")
            start += n
        }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = buffer.baseAddress else { return }
        var start = 0
        while start < buffer.count {
            let n = min(Self.chunk, buffer.count - start)
            fatalOnError(api.bcast(base + start, Int32(n), api.byte, Int32(root), api.commWorld), "MPI_Bcast")
            start += n
        }
    }

    public func send(_ bytes: [UInt8], to rank: Int, tag: Int) {
        precondition(bytes.count < Int(Int32.max), "message too long")
        bytes.withUnsafeBytes { b in
            fatalOnError(api.send(b.baseAddress, Int32(b.count), api.byte, Int32(rank), Int32(tag), api.commWorld), "MPI_Send")
        }
    }

    public func receive(from rank: Int, tag: Int) -> [UInt8] {
        // MPI_Status is 24 bytes in Open MPI (three ints, _cancelled, size_t _ucount); room to spare.
        var status = [UInt64](repeating: 0, count: 8)
        var count: Int32 = 0
        status.withUnsafeMutableBytes { s in
            fatalOnError(api.probe(Int32(rank), Int32(tag), api.commWorld, s.baseAddress), "MPI_Probe")
            fatalOnError(api.getCount(s.baseAddress, api.byte, &count), "MPI_Get_count")
        }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        bytes.withUnsafeMutableBytes { b in
            fatalOnError(api.recv(b.baseAddress, count, api.byte, Int32(rank), Int32(tag), api.commWorld, nil), "MPI_Recv")
        }
        return bytes
    }

    public func barrier() { fatalOnError(api.barrier(api.commWorld), "MPI_Barrier") }

    public func finish() {
        guard !finished else { return }
        finished = true
        _ = api.finalize()
    }

    /// Open MPI's default handler (MPI_ERRORS_ARE_FATAL) aborts the job on a failed call before
    /// it returns; this only catches what gets past it.
    private func fatalOnError(_ code: Int32, _ call: String) {
        guard code != 0 else { return }
        FileHandle.standardError.write(Data("pastiche: error: rank \(rank): \(call) failed (MPI error \(code))\n".utf8))
        _ = api.abort(api.commWorld, 1)
        exit(1)
    }

    private static let inPlace = UnsafeRawPointer(bitPattern: 1)  // MPI_IN_PLACE

    /// The entry points and predefined handles, resolved once.
    struct API {
        typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>) -> Int32
        typealias CommInt = @convention(c) (OpaquePointer, UnsafeMutablePointer<Int32>) -> Int32
        typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer, OpaquePointer, OpaquePointer) -> Int32
        typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, OpaquePointer, Int32, OpaquePointer) -> Int32
        typealias Send = @convention(c) (UnsafeRawPointer?, Int32, OpaquePointer, Int32, Int32, OpaquePointer) -> Int32
        typealias Recv = @convention(c) (UnsafeMutableRawPointer?, Int32, OpaquePointer, Int32, Int32, OpaquePointer, UnsafeMutableRawPointer?) -> Int32
        typealias Probe = @convention(c) (Int32, Int32, OpaquePointer, UnsafeMutableRawPointer?) -> Int32
        typealias GetCount = @convention(c) (UnsafeRawPointer?, OpaquePointer, UnsafeMutablePointer<Int32>) -> Int32
        typealias Comm = @convention(c) (OpaquePointer) -> Int32
        typealias Abort = @convention(c) (OpaquePointer, Int32) -> Int32
        typealias Void0 = @convention(c) () -> Int32

        let initThread: InitThread, commRank: CommInt, commSize: CommInt
        let allreduce: Allreduce, bcast: Bcast, send: Send, recv: Recv, probe: Probe, getCount: GetCount
        let barrier: Comm, abort: Abort, finalize: Void0
        let commWorld: OpaquePointer, float: OpaquePointer, double: OpaquePointer, byte: OpaquePointer, sum: OpaquePointer

        static func load() throws -> API {
            // RTLD_GLOBAL: Open MPI's own plugins (dlopened by libmpi) resolve its symbols.
            guard let handle = dlopen(OpenMPI.library, RTLD_NOW | RTLD_GLOBAL) else {
                let why = dlerror().map { String(cString: $0) } ?? "not found"
                throw DistributedError("--distributed under mpirun needs Open MPI's \(OpenMPI.library) (Debian: apt install openmpi-bin libopenmpi-dev): \(why)")
            }
            func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
                guard let p = dlsym(handle, name) else { throw DistributedError("\(OpenMPI.library) has no \(name): not Open MPI 3 or later") }
                return p
            }
            func function<T>(_ name: String, _: T.Type) throws -> T { unsafeBitCast(try symbol(name), to: T.self) }
            func global(_ name: String) throws -> OpaquePointer { OpaquePointer(try symbol(name)) }
            return API(
                initThread: try function("MPI_Init_thread", InitThread.self),
                commRank: try function("MPI_Comm_rank", CommInt.self), commSize: try function("MPI_Comm_size", CommInt.self),
                allreduce: try function("MPI_Allreduce", Allreduce.self), bcast: try function("MPI_Bcast", Bcast.self),
                send: try function("MPI_Send", Send.self), recv: try function("MPI_Recv", Recv.self),
                probe: try function("MPI_Probe", Probe.self), getCount: try function("MPI_Get_count", GetCount.self),
                barrier: try function("MPI_Barrier", Comm.self), abort: try function("MPI_Abort", Abort.self),
                finalize: try function("MPI_Finalize", Void0.self),
                commWorld: try global("ompi_mpi_comm_world"), float: try global("ompi_mpi_float"),
                double: try global("ompi_mpi_double"), byte: try global("ompi_mpi_byte"), sum: try global("ompi_mpi_op_sum"))
        }

        func check(_ code: Int32, _ call: String) throws {
            if code != 0 { throw DistributedError("\(call) failed (MPI error \(code))") }
        }
    }
}
