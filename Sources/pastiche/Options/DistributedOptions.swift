import ArgumentParser
import Foundation
import PasticheDistributed

/// `--distributed`: run as one rank of an MPI job. Under `mpirun` the command joins the job
/// (Open MPI, loaded only now); without it, it is the plain command. Every rank but 0 writes
/// nothing to stdout and prints no notes, so the job's output is one process's.
struct DistributedOptions: ParsableArguments {
    @Flag(help: "Under mpirun, share the work between the ranks (Open MPI, loaded only with this flag); alone, the plain command.")
    var distributed = false

    func validate() throws {
        if !distributed, let launch = Launch.fromEnvironment(), launch.size > 1 {
            throw ValidationError("started by mpirun as one of \(launch.size) ranks but without --distributed, every rank would do the whole job; add --distributed")
        }
    }

    /// The job's communicator (`SingleProcess` without the flag or without mpirun).
    func join() throws -> any Communicator {
        guard distributed else { return SingleProcess() }
        let communicator = try Distributed.join()
        if !communicator.isRoot {
            // Rank 0 speaks for the job; the others' stdout goes nowhere (errors still reach stderr).
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { fflush(stdout); dup2(null, STDOUT_FILENO); close(null) }
        }
        return communicator
    }
}
