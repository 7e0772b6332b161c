import DirectorManifest

extension LaunchSpec {
    /// Resolves `job` for one child: templates expanded, a shell command wrapped in
    /// `/bin/sh -c`, and the `DIRECTOR_*` variables appended.
    public init(job: JobSpec, id: ChildID) {
        let argv: [String]
        switch job.command {
        case .argv(let words):
            // Without a template every instance shares the job's array (and its strings).
            argv = words.contains(where: Template.hasPlaceholder) ? words.map { Template.expand($0, for: id) } : words
        case .shell(let text): argv = ["/bin/sh", "-c", Template.expand(text, for: id)]
        }
        // The env file's variables first: the spawn path lets the last of a name win, so
        // `env` overrides the file, and the `DIRECTOR_*` variables override both.
        var env = job.envFile?.variables ?? []
        env += job.env.map { EnvVar(name: $0.name, value: Template.expand($0.value, for: id)) }
        env.append(EnvVar(name: "DIRECTOR_ID", value: id.description))
        env.append(EnvVar(name: "DIRECTOR_GROUP", value: id.group))
        env.append(EnvVar(name: "DIRECTOR_JOB", value: id.job))
        env.append(EnvVar(name: "DIRECTOR_INSTANCE", value: String(id.instance)))
        self.init(id: id, argv: argv, cwd: Template.expand(job.cwd, for: id), env: env, log: job.log,
            identity: job.identity)
        ready = job.ready
        limits = job.limits
        watchdog = job.watchdog
    }
}
