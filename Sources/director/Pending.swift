// Bodies of the subcommands that land with the manifest loader, the table and the runtime.
func runDaemon(_ options: RunCommand) throws { throw UserError("run: not built yet") }
func listChildren(state: String, prefix: String?, json: Bool) throws { throw UserError("ps: not built yet") }
func printEvents(state: String, since: UInt64?, json: Bool, follow: Bool) throws { throw UserError("events: not built yet") }
func countChildren(state: String) throws { throw UserError("count: not built yet") }
func printSpec(state: String, id: String, json: Bool) throws { throw UserError("spec: not built yet") }
func sendControl(state: String, op: String, ids: [String]?) throws { throw UserError("\(op): not built yet") }
func sendScale(state: String, job: String, instances: Int) throws { throw UserError("scale: not built yet") }
