import Foundation
import XCTest
@testable import PasticheDistributed
import PasticheTestSupport

/// One process without MPI (what every command is without `--distributed`, and with it outside
/// `mpirun`), and where a process stands in an Open MPI launch, read from the environment.
final class CommunicatorTests: XCTestCase {
    func testASingleProcessIsRankZeroOfOne() {
        let c = SingleProcess()
        XCTAssertEqual(c.rank, 0)
        XCTAssertEqual(c.size, 1)
        XCTAssertTrue(c.isRoot)
    }

    func testCollectivesOverOneRankLeaveTheDataAsItIs() {
        let c = SingleProcess()
        var floats: [Float] = [1.5, -0.0, .infinity, .leastNonzeroMagnitude, 7]
        let floatBits = floats.map(\.bitPattern)
        floats.withUnsafeMutableBufferPointer { c.allreduceSum($0) }
        XCTAssertEqual(floats.map(\.bitPattern), floatBits, "the sum over one rank is the buffer, bit for bit")
        var doubles: [Double] = [2.25, -1e300, 0]
        doubles.withUnsafeMutableBufferPointer { c.allreduceSum($0) }
        XCTAssertEqual(doubles, [2.25, -1e300, 0])
        var bytes: [UInt8] = [9, 8, 7]
        bytes.withUnsafeMutableBytes { c.broadcast($0, root: 0) }
        XCTAssertEqual(bytes, [9, 8, 7])
        XCTAssertEqual(c.broadcast(42, root: 0), 42)
        XCTAssertEqual(c.broadcast(Double.pi), Double.pi)
        c.barrier()
        c.finish()
    }

    func testOneRankOwnsAllTheWork() {
        let c = SingleProcess()
        XCTAssertEqual((0..<10).map { c.owner(of: $0) }, [Int](repeating: 0, count: 10))
        XCTAssertEqual(c.slice(of: 8), 0..<8)
        XCTAssertEqual(c.slice(of: 0), 0..<0)
    }

    /// The same extension methods over N ranks: round-robin owners and equal contiguous slices.
    func testWorkSplitsOverSeveralRanks() {
        let ranks = (0..<3).map { FakeRanks(rank: $0, size: 3) }
        XCTAssertEqual((0..<7).map { ranks[0].owner(of: $0) }, [0, 1, 2, 0, 1, 2, 0])
        XCTAssertEqual(ranks.map { $0.slice(of: 12) }, [0..<4, 4..<8, 8..<12])
        XCTAssertEqual(ranks.map(\.isRoot), [true, false, false])
        // Every item is owned by exactly one rank.
        let owned = ranks.map { r in (0..<10).filter { r.owner(of: $0) == r.rank } }
        XCTAssertEqual(owned.flatMap { $0 }.sorted(), Array(0..<10))
    }

    func testLaunchFromOpenMPIsEnvironment() {
        XCTAssertEqual(Launch.fromEnvironment(["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "3"]), Launch(rank: 3, size: 4))
        XCTAssertEqual(Launch.fromEnvironment(["OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0", "PATH": "/bin"]),
                       Launch(rank: 0, size: 1))
        let notMPI: [[String: String]] = [
            [:],
            ["OMPI_COMM_WORLD_SIZE": "2"],
            ["OMPI_COMM_WORLD_RANK": "0"],
            ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "2"],
            ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "-1"],
            ["OMPI_COMM_WORLD_SIZE": "0", "OMPI_COMM_WORLD_RANK": "0"],
            ["OMPI_COMM_WORLD_SIZE": "two", "OMPI_COMM_WORLD_RANK": "0"],
            ["PMI_RANK": "0", "PMI_SIZE": "2"],  // MPICH's variables: not Open MPI
        ]
        for env in notMPI { XCTAssertNil(Launch.fromEnvironment(env), "\(env)") }
    }

    /// Without mpirun's variables, `--distributed` is one process and no MPI library is loaded.
    func testJoiningOutsideMPIRunIsASingleProcess() throws {
        let c = try Distributed.join(environment: ["PATH": "/usr/bin"])
        XCTAssertTrue(c is SingleProcess)
        XCTAssertEqual(c.size, 1)
    }

    /// The default argument reads this process's own environment (set and restored here).
    func testLaunchReadsTheProcessEnvironmentByDefault() {
        withEnvironment(["OMPI_COMM_WORLD_SIZE": "5", "OMPI_COMM_WORLD_RANK": "2"]) {
            XCTAssertEqual(Launch.fromEnvironment(), Launch(rank: 2, size: 5))
        }
        withEnvironment(["OMPI_COMM_WORLD_SIZE": nil, "OMPI_COMM_WORLD_RANK": nil]) {
            XCTAssertNil(Launch.fromEnvironment())
        }
    }
}

/// Rank `rank` of `size`, for the work-splitting methods every communicator shares; it has no
/// peers, so it sends nothing.
private final class FakeRanks: Communicator, @unchecked Sendable {
    let rank: Int
    let size: Int
    init(rank: Int, size: Int) { self.rank = rank; self.size = size }
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {}
    func send(_ bytes: [UInt8], to rank: Int, tag: Int) { XCTFail("no messages") }
    func receive(from rank: Int, tag: Int) -> [UInt8] { XCTFail("no messages"); return [] }
    func barrier() {}
    func finish() {}
}
