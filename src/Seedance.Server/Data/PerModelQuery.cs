using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Seedance.Server.Data;

/// <summary>
/// A compiled query (<c>EF.CompileAsyncQuery</c>) for each model it runs against. EF binds a compiled query to the first
/// model it runs with and refuses any other, so one kept in a static field breaks once a process holds contexts of both
/// databases (a SQLite server beside PostgreSQL ones): the model is the key here, and each gets its own compilation.
/// </summary>
public sealed class PerModelQuery<TQuery>(Func<TQuery> compile) where TQuery : class
{
    private readonly ConditionalWeakTable<IModel, TQuery> _byModel = new();

    public TQuery For(DbContext db) => _byModel.GetValue(db.Model, _ => compile());
}
