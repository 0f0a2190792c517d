using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Seedance.Server.Data;

/// <summary>
/// Commands kept prepared: the statements every submission runs (its reservation, its task, its ledger entry),
/// executed as plain commands on the context's connection, in its transaction, instead of through LINQ and
/// <c>SaveChanges</c>. Only the stores use them (their SQL text stays inside the persistence boundary).
/// In the group commit's single writer, EF's work per call (reading the expression for its parameters,
/// tracking, building the update batch) and SQLite preparing the same SQL again every time cost several
/// times what the statements themselves cost.
/// <list type="bullet">
/// <item>An insert's SQL is written from the EF model: its table, every column the application writes, and
/// each value bound through the column's own type mapping and value converter, as <c>SaveChanges</c> binds it.</item>
/// <item>A command is kept per connection (on SQLite, per physical connection) and run again with new values:
/// SQLite then prepares it once.</item>
/// <item>A statement runs only inside a transaction, so it commits or rolls back with the rest of the change.</item>
/// </list>
/// </summary>
internal static class PreparedCommands
{
    /// <summary>A value for a parameter, bound as <paramref name="Column"/> binds its values.</summary>
    public readonly record struct Arg(IProperty Column, object? Value);

    private static readonly ConditionalWeakTable<DbConnection, KeptCommands> Kept = new();
    private static readonly ConditionalWeakTable<IModel, ConcurrentDictionary<Type, Insert>> Inserts = new();

    /// <summary>The column that <typeparamref name="TEntity"/>'s <paramref name="property"/> maps to, with <paramref name="value"/>.</summary>
    public static Arg Value<TEntity>(SeedanceDb db, string property, object? value) =>
        new(db.Model.FindEntityType(typeof(TEntity))!.FindProperty(property)!, value);

    /// <summary>
    /// Runs <paramref name="sql"/>, whose parameters are <c>@p0</c>, <c>@p1</c>, … in the order of <paramref name="args"/>;
    /// returns the rows it changed. One SQL text always takes the same columns, in the same order.
    /// </summary>
    public static async Task<int> ExecuteAsync(SeedanceDb db, string sql, CancellationToken ct, params Arg[] args) =>
        await Command(db, sql, args).ExecuteNonQueryAsync(ct);

    /// <summary>
    /// Inserts <paramref name="row"/> as <c>SaveChanges</c> would, without tracking it. A refused insert (a
    /// unique key taken, say) throws <see cref="DbUpdateException"/>, as <c>SaveChanges</c> does.
    /// </summary>
    public static async Task InsertAsync<T>(SeedanceDb db, T row, CancellationToken ct = default) where T : class
    {
        var insert = Inserts.GetValue(db.Model, _ => new ConcurrentDictionary<Type, Insert>())
            .GetOrAdd(typeof(T), static (type, db) => Insert.Of(db, type), db);
        var args = new Arg[insert.Columns.Length];
        for (var i = 0; i < args.Length; i++) args[i] = new Arg(insert.Columns[i], insert.Columns[i].GetGetter().GetClrValue(row));
        var command = Command(db, insert.Sql, args);
        try
        {
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (DbException e)
        {
            throw new DbUpdateException($"Inserting a row of {insert.Table} failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// The connection's kept command for <paramref name="sql"/>, in the context's transaction, with <paramref name="args"/>
    /// bound. A kept command keeps its parameters and gets new values: once it is prepared (Npgsql prepares a statement
    /// it has run a few times when the connection string turns on automatic preparation, <c>Max Auto Prepare</c>), it
    /// sends the parameters it was prepared with, so new ones in their place would never be sent (npgsql/npgsql#3850).
    /// That is also why one SQL text must always come with the same columns.
    /// </summary>
    private static DbCommand Command(SeedanceDb db, string sql, ReadOnlySpan<Arg> args)
    {
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("A statement runs inside a transaction");
        var connection = transaction.Connection!;
        var kept = Kept.GetValue(connection, _ => new KeptCommands());
        kept.FitTo(connection);
        if (!kept.Commands.TryGetValue(sql, out var command))
        {
            var made = connection.CreateCommand();
            made.CommandText = sql;
            var columns = new IProperty[args.Length];
            for (var i = 0; i < args.Length; i++)
            {
                columns[i] = args[i].Column;
                made.Parameters.Add(columns[i].GetRelationalTypeMapping().CreateParameter(made, "@p" + i, null, columns[i].IsNullable));
            }
            kept.Commands[sql] = command = new KeptCommand(made, columns);
        }
        if (args.Length != command.Columns.Length)
            throw new InvalidOperationException($"The statement takes {command.Columns.Length} values, {args.Length} given: {sql}");
        for (var i = 0; i < args.Length; i++)
        {
            if (!ReferenceEquals(args[i].Column, command.Columns[i]))
                throw new InvalidOperationException($"Value {i} of the statement is for {command.Columns[i].Name}, {args[i].Column.Name} given: {sql}");
            // Converted as the column converts its values (an enum to its text, a decimal to its integer cents, ...).
            command.Command.Parameters[i].Value = args[i].Column.GetRelationalTypeMapping()
                .CreateParameter(command.Command, "@p" + i, args[i].Value, args[i].Column.IsNullable).Value;
        }
        command.Command.Transaction = transaction;
        return command.Command;
    }

    /// <summary>A kept command and the columns its parameters bind, in order.</summary>
    private sealed record KeptCommand(DbCommand Command, IProperty[] Columns);

    /// <summary>
    /// A connection's kept commands. A SQLite command stays prepared on the physical connection (the handle) it
    /// was prepared on, while a pooled context's connection may be opened again on another one from the pool:
    /// the commands are then made anew, so a statement never runs on a handle that is no longer this connection's.
    /// </summary>
    private sealed class KeptCommands
    {
        private object? _handle;

        public Dictionary<string, KeptCommand> Commands { get; } = [];

        public void FitTo(DbConnection connection)
        {
            var handle = (connection as SqliteConnection)?.Handle;
            if (ReferenceEquals(handle, _handle)) return;
            foreach (var command in Commands.Values) command.Command.Dispose();
            Commands.Clear();
            _handle = handle;
        }
    }

    private sealed record Insert(string Table, string Sql, IProperty[] Columns)
    {
        public static Insert Of(SeedanceDb db, Type type)
        {
            var entity = db.Model.FindEntityType(type) ?? throw new InvalidOperationException($"{type.Name} is not in the model");
            var written = entity.GetProperties().Where(p => p.GetBeforeSaveBehavior() == PropertySaveBehavior.Save).ToList();
            // SaveChanges leaves a generated value to the database only when the row does not set it; the rows
            // inserted here may leave only their generated key to it.
            if (written.FirstOrDefault(p => p.ValueGenerated != ValueGenerated.Never && !p.IsPrimaryKey()) is { } generated)
                throw new NotSupportedException($"{type.Name}.{generated.Name} is generated by the database; insert it with SaveChanges");
            var columns = written.Where(p => p.ValueGenerated == ValueGenerated.Never).ToArray();
            var sql = db.GetService<ISqlGenerationHelper>();
            var table = sql.DelimitIdentifier(entity.GetTableName()!, entity.GetSchema());
            return new Insert(table,
                $"INSERT INTO {table} ({string.Join(", ", columns.Select(c => sql.DelimitIdentifier(c.GetColumnName())))}) " +
                $"VALUES ({string.Join(", ", columns.Select((_, i) => "@p" + i))})",
                columns);
        }
    }
}
