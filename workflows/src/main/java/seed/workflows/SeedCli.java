package seed.workflows;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The root of the {@code seed} command line: every module contributes its own subcommands and this class only
 * assembles them, so the launcher ({@code bin/seed}) has one entry point for operators and auditors.
 */
@Command(name = "seed", mixinStandardHelpOptions = true, version = "seed 0.1.0",
        description = "Seed: pretraining, SFT and RLHF of decoder-only transformers on the JVM.")
public final class SeedCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Builds the full command tree; tests use this to run commands in-process. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new SeedCli());
        // Subcommands, one line each, grouped by module. Add yours on its own line.
        // -- workflows: Seed's orchestration on Kestra, for operators
        cli.addSubcommand("demo", new seed.workflows.cli.DemoCommand());
        cli.addSubcommand("run", new seed.workflows.cli.RunCommand());
        cli.addSubcommand("sweep", new seed.workflows.cli.SweepCommand());
        cli.addSubcommand("server", new seed.workflows.cli.ServerCommand());
        cli.addSubcommand("runs", new seed.workflows.cli.OperatorCommands.Runs());
        cli.addSubcommand("status", new seed.workflows.cli.OperatorCommands.Status());
        cli.addSubcommand("logs", new seed.workflows.cli.OperatorCommands.Logs());
        cli.addSubcommand("cancel", new seed.workflows.cli.OperatorCommands.Cancel());
        cli.addSubcommand("resume", new seed.workflows.cli.OperatorCommands.Resume());
        cli.addSubcommand("flows", new seed.workflows.cli.OperatorCommands.Flows());
        cli.addSubcommand("people", new picocli.CommandLine(new seed.workflows.cli.OperatorCommands.PeopleRoot())
                .addSubcommand("add", new seed.workflows.cli.OperatorCommands.People()));
        cli.addSubcommand("deploy", new seed.workflows.cli.DeployCommand());
        cli.addSubcommand("plugin", new picocli.CommandLine(new seed.workflows.cli.PluginCommand())
                .addSubcommand("package", new seed.workflows.cli.PluginCommand.Package()));
        // -- stages
        cli.addSubcommand("pretrain", new seed.stages.cli.PretrainCommand());
        cli.addSubcommand("sft", new seed.stages.cli.SftCommand());
        cli.addSubcommand("generate", new seed.stages.cli.GenerateCommand());
        cli.addSubcommand("serve", new seed.stages.cli.ServeCommand(seed.workflows.registry.RegistryModelSource::open));
        cli.addSubcommand("eval", new seed.stages.cli.EvalCommand());
        cli.addSubcommand("candidates", new seed.stages.cli.CandidatesCommand());
        cli.addSubcommand("tokenizer", new seed.stages.cli.TokenizerCommand());
        cli.addSubcommand("curate", new seed.stages.cli.CurateCommand());
        cli.addSubcommand("plan", new seed.stages.cli.PlanCommand());
        // -- reward-model
        cli.addSubcommand("reward", new seed.reward.cli.RewardCommand());
        cli.addSubcommand("rlhf", new seed.stages.cli.RlhfCommand(seed.reward.RewardModelFiles::load));
        cli.addSubcommand("dpo", new seed.reward.cli.DpoCommand());
        // -- annotation
        cli.addSubcommand("annotate", new seed.annotation.cli.AnnotateCommand());
        // -- lineage (workflows)
        cli.addSubcommand("lineage", new seed.workflows.lineage.LineageCommand());
        // -- model registry (workflows)
        cli.addSubcommand("models", new seed.workflows.registry.RegistryCommands.Models());
        cli.addSubcommand("promote", new seed.workflows.registry.RegistryCommands.Promote());
        cli.addSubcommand("rollback", new seed.workflows.registry.RegistryCommands.Rollback());

        cli.addSubcommand("export", new seed.stages.cli.ExportCommand());
        cli.addSubcommand("import", new seed.stages.cli.ImportCommand());
        CommandLine bench = new CommandLine(new BenchCommand());
        // Benchmarks (`seed bench NAME`), one line each, grouped by module.
        // -- stages bench
        bench.addSubcommand("train", new seed.stages.cli.BenchTrainCommand());
        bench.addSubcommand("generate", new seed.stages.cli.BenchGenerateCommand());
        bench.addSubcommand("serve", new seed.stages.cli.BenchServeCommand());
        bench.addSubcommand("curate", new seed.stages.cli.BenchCurateCommand());
        // -- reward-model / rlhf bench
        bench.addSubcommand("rlhf", new seed.reward.cli.RlhfBenchCommand());
        bench.addSubcommand("reward", new seed.reward.cli.RewardBenchCommand());
        // -- annotation bench
        bench.addSubcommand("ingest", new seed.annotation.bench.IngestBenchCommand());
        bench.addSubcommand("submit", new seed.annotation.bench.SubmitBenchCommand());
        cli.addSubcommand("bench", bench);
        cli.setExecutionExceptionHandler(new seed.stages.cli.CliErrors());
        return cli;
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
