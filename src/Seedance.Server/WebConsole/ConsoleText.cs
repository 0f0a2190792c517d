namespace Seedance.Server.WebConsole;

/// <summary>
/// The console's words in English and Chinese. The language is the switch's cookie, else the browser's
/// <c>Accept-Language</c> (Chinese when it prefers zh), else English. A word missing in Chinese shows in English.
/// </summary>
public sealed class ConsoleText
{
    public const string English = "en", Chinese = "zh";
    public static readonly ConsoleText En = new(English), Zh = new(Chinese);
    private ConsoleText(string lang) => Lang = lang;

    private Dictionary<string, string> Words => Lang == Chinese ? ZhWords : EnWords;

    public string Lang { get; }
    public string HtmlLang => Lang == Chinese ? "zh-CN" : "en";
    public string this[string key] => Words.TryGetValue(key, out var w) ? w : EnWords.TryGetValue(key, out var e) ? e : key;

    public static string Normalize(string? lang) => lang is not null && lang.StartsWith(Chinese, StringComparison.OrdinalIgnoreCase) ? Chinese : English;

    public static ConsoleText For(HttpContext http)
    {
        if (http.Request.Cookies[SignInEndpoints.LanguageCookie] is { } chosen) return Normalize(chosen) == Chinese ? Zh : En;
        var accepted = http.Request.GetTypedHeaders().AcceptLanguage;
        var first = accepted.Where(l => l.Quality is null or > 0).OrderByDescending(l => l.Quality ?? 1).FirstOrDefault();
        return first is not null && Normalize(first.Value.ToString()) == Chinese ? Zh : En;
    }

    /// <summary>The error codes the console explains (the API document's, and the console's own).</summary>
    public static IEnumerable<string> ErrorCodes => EnWords.Keys.Where(k => k.StartsWith("error.", StringComparison.Ordinal) && k != "error.OTHER")
        .Select(k => k["error.".Length..]);

    /// <summary>What an error code of the API document means for the person reading it.</summary>
    public string Meaning(string code) => this["error." + code] is var m && m != "error." + code ? m : this["error.OTHER"];

    private static readonly Dictionary<string, string> EnWords = new()
    {
        ["product"] = "Seedance console", ["signin"] = "Sign in", ["signout"] = "Sign out", ["secret"] = "API key or admin token",
        ["signin.hint"] = "Customers sign in with their API key (sk-sd2-...), operators with the admin token. It is checked once and never stored in the browser.",
        ["signin.refused"] = "That key or token is not valid, or the key is disabled.",
        ["nav.tasks"] = "Tasks", ["nav.playground"] = "Playground", ["nav.balance"] = "Balance and usage", ["nav.webhooks"] = "Webhooks",
        ["nav.requests"] = "Request log", ["nav.quickstart"] = "Quickstart", ["nav.overview"] = "Overview", ["nav.keys"] = "Keys",
        ["nav.channels"] = "Channels", ["nav.admintasks"] = "Tasks", ["skip"] = "Skip to content", ["language"] = "中文",
        ["status"] = "Status", ["all"] = "All", ["filter"] = "Filter", ["created"] = "Created", ["model"] = "Model", ["cost"] = "Cost",
        ["preview"] = "Preview", ["task"] = "Task", ["actions"] = "Actions", ["cancel"] = "Cancel", ["details"] = "Details",
        ["newer"] = "Newer", ["older"] = "Older", ["page"] = "Page", ["of"] = "of", ["notasks"] = "No tasks yet.",
        ["credits"] = "credits", ["resolution"] = "Resolution", ["ratio"] = "Ratio", ["duration"] = "Duration (s)", ["audio"] = "Generate audio",
        ["seed"] = "Seed (-1: random)", ["watermark"] = "Watermark", ["lastframe"] = "Return the last frame", ["prompt"] = "Prompt",
        ["references"] = "Reference images, videos and audio", ["drop"] = "Drop files here or choose them", ["submit"] = "Generate",
        ["quote"] = "This costs", ["leaves"] = "leaving", ["unaffordable"] = "More than the balance or a spending limit allows.",
        ["elapsed"] = "Elapsed", ["download"] = "Download", ["lastframeimg"] = "Last frame", ["video"] = "Video",
        ["total"] = "Total", ["used"] = "Used", ["reserved"] = "Reserved", ["remaining"] = "Remaining", ["daily"] = "Last 30 days",
        ["creditsperday"] = "Credits captured per day", ["tasksperday"] = "Tasks submitted per day", ["day"] = "Day", ["tasks"] = "Tasks",
        ["secret.webhook"] = "Signing secret", ["reveal"] = "Reveal", ["rotate"] = "Rotate", ["hidden"] = "hidden",
        ["rotate.hint"] = "After a rotation the previous secret keeps signing until", ["deliveries"] = "Callback deliveries",
        ["redeliver"] = "Redeliver", ["attempts"] = "Attempts", ["nodeliveries"] = "No callback deliveries.",
        ["errorsonly"] = "Errors only", ["time"] = "Time", ["method"] = "Method", ["path"] = "Path", ["code"] = "Code", ["latency"] = "Latency (ms)",
        ["requestid"] = "Request id", ["norequests"] = "No requests in the last day.", ["baseurl"] = "Base URL",
        ["quickstart.hint"] = "Put your key in the SEEDANCE_API_KEY environment variable; it is never shown here.",
        ["request"] = "Request", ["timeline"] = "Timeline", ["channel"] = "Channel", ["upstream"] = "Upstream task id", ["ledger"] = "Ledger",
        ["error"] = "Error", ["meaning"] = "What it means", ["back"] = "Back", ["notfound"] = "Not found", ["name"] = "Name", ["search"] = "Search",
        ["createkey"] = "Create a key", ["create"] = "Create", ["keycreated"] = "The key, shown this once: copy it now.", ["copy"] = "Copy", ["copied"] = "Copied",
        ["enabled"] = "Enabled", ["disabled"] = "Disabled", ["enable"] = "Enable", ["disable"] = "Disable", ["limits"] = "Limits", ["save"] = "Save",
        ["maxconcurrent"] = "Concurrent tasks", ["maxpending"] = "Backlog", ["ratelimit"] = "Requests per second", ["dailylimit"] = "Daily credit limit",
        ["monthlylimit"] = "Monthly credit limit", ["adjust"] = "Top up or adjust", ["amount"] = "Amount (negative to take back)", ["note"] = "Note",
        ["apply"] = "Apply", ["role"] = "Role of", ["remove"] = "Remove", ["amountcol"] = "Amount", ["csv"] = "CSV export", ["kind"] = "Kind", ["key"] = "Key", ["prefix"] = "Prefix", ["keyid"] = "Key id",
        ["last24h"] = "Last 24 hours", ["successrate"] = "Success rate", ["captured"] = "Credits captured", ["inflight"] = "In flight",
        ["median"] = "Median time to complete", ["p95"] = "95th percentile", ["recentfailures"] = "Recent failures", ["nofailures"] = "No failures.",
        ["state"] = "State", ["cooling"] = "Cooling down until", ["recenterrors"] = "Recent errors", ["models"] = "Models", ["from"] = "From", ["to"] = "To",
        ["find"] = "Find", ["notice.cancelled"] = "The task was cancelled; its credits were released.", ["notice.redelivered"] = "The callback is sent again.",
        ["notice.rotated"] = "A new secret signs from now on.", ["notice.saved"] = "Saved.", ["notice.adjusted"] = "The credits were adjusted.",
        ["error.INVALID_API_KEY"] = "The API key is missing, unknown or disabled.",
        ["error.INVALID_PARAMETER"] = "A value is invalid or malformed; the message names the field and the rule.",
        ["error.MISSING_PARAMETER"] = "A required parameter is missing.",
        ["error.INSUFFICIENT_CREDIT"] = "The balance does not cover the task's cost: ask for a top-up.",
        ["error.TASK_NOT_FOUND"] = "No task of this key has that id.",
        ["error.TASK_CANCEL_NOT_ALLOWED"] = "The task has finished or the upstream would not cancel it; it goes on.",
        ["error.CONCURRENCY_LIMIT_REACHED"] = "Too many tasks are waiting for this key; nothing was created or charged.",
        ["error.RATE_LIMIT_EXCEEDED"] = "Too many requests per second; try again in a moment.",
        ["error.SERVICE_BUSY"] = "The service is busy; try again shortly.",
        ["error.INTERNAL_ERROR"] = "An unexpected failure of the server.",
        ["error.CONTENT_MODERATION_FAILED"] = "The content did not pass moderation: change the prompt or the references.",
        ["error.CREDIT_DEDUCT_FAILED"] = "The credits could not be deducted; try again.",
        ["error.TASK_SUBMIT_FAILED"] = "The task could not be submitted; try again.",
        ["error.FILE_UPLOAD_FAILED"] = "The upload address could not be made.",
        ["error.VIDEO_DOWNLOAD_FAILED"] = "The video could not be processed; the credits were released.",
        ["error.COPYRIGHT_VIOLATION"] = "The content may be restricted by copyright.",
        ["error.PRIVACY_VIOLATION"] = "The input contains an image of a real person, which is not allowed.",
        ["error.KEY_NOT_FOUND"] = "No key has that id.", ["error.NOT_FOUND"] = "There is nothing at this address.",
        ["error.FORM_EXPIRED"] = "The form was stale or not sent from this console (antiforgery check): reload the page and try again.",
        ["error.SIGN_IN_THROTTLED"] = "Too many sign-in attempts from this address: wait a minute.",
        ["error.OTHER"] = "The request was refused.",
    };

    private static readonly Dictionary<string, string> ZhWords = new()
    {
        ["product"] = "Seedance 控制台", ["signin"] = "登录", ["signout"] = "退出", ["secret"] = "API 密钥或管理令牌",
        ["signin.hint"] = "客户使用 API 密钥（sk-sd2-...）登录，运营者使用管理令牌登录。密钥只校验一次，不会保存在浏览器中。",
        ["signin.refused"] = "密钥或令牌无效，或密钥已被禁用。",
        ["nav.tasks"] = "任务", ["nav.playground"] = "体验", ["nav.balance"] = "余额与用量", ["nav.webhooks"] = "回调",
        ["nav.requests"] = "请求日志", ["nav.quickstart"] = "快速开始", ["nav.overview"] = "概览", ["nav.keys"] = "密钥",
        ["nav.channels"] = "渠道", ["nav.admintasks"] = "任务", ["skip"] = "跳到正文", ["language"] = "English",
        ["status"] = "状态", ["all"] = "全部", ["filter"] = "筛选", ["created"] = "创建时间", ["model"] = "模型", ["cost"] = "费用",
        ["preview"] = "预览", ["task"] = "任务", ["actions"] = "操作", ["cancel"] = "取消", ["details"] = "详情",
        ["newer"] = "较新", ["older"] = "较早", ["page"] = "页码", ["of"] = "/", ["notasks"] = "还没有任务。",
        ["credits"] = "积分", ["resolution"] = "分辨率", ["ratio"] = "宽高比", ["duration"] = "时长（秒）", ["audio"] = "生成音频",
        ["seed"] = "种子（-1 为随机）", ["watermark"] = "水印", ["lastframe"] = "返回尾帧", ["prompt"] = "提示词",
        ["references"] = "参考图片、视频和音频", ["drop"] = "拖放文件到这里，或点击选择", ["submit"] = "生成",
        ["quote"] = "本次费用", ["leaves"] = "剩余", ["unaffordable"] = "超出余额或消费限额。",
        ["elapsed"] = "已用时", ["download"] = "下载", ["lastframeimg"] = "尾帧", ["video"] = "视频",
        ["total"] = "总额", ["used"] = "已用", ["reserved"] = "冻结", ["remaining"] = "剩余", ["daily"] = "最近 30 天",
        ["creditsperday"] = "每日扣除积分", ["tasksperday"] = "每日提交任务", ["day"] = "日期", ["tasks"] = "任务数",
        ["secret.webhook"] = "签名密钥", ["reveal"] = "显示", ["rotate"] = "轮换", ["hidden"] = "已隐藏",
        ["rotate.hint"] = "轮换后，旧密钥继续签名直到", ["deliveries"] = "回调投递",
        ["redeliver"] = "重新投递", ["attempts"] = "尝试次数", ["nodeliveries"] = "没有回调投递。",
        ["errorsonly"] = "仅错误", ["time"] = "时间", ["method"] = "方法", ["path"] = "路径", ["code"] = "错误码", ["latency"] = "延迟（毫秒）",
        ["requestid"] = "请求 ID", ["norequests"] = "最近一天没有请求。", ["baseurl"] = "接口地址",
        ["quickstart.hint"] = "请把密钥放在环境变量 SEEDANCE_API_KEY 中；这里从不显示密钥。",
        ["request"] = "请求", ["timeline"] = "状态时间线", ["channel"] = "渠道", ["upstream"] = "上游任务 ID", ["ledger"] = "账目",
        ["error"] = "错误", ["meaning"] = "含义", ["back"] = "返回", ["notfound"] = "未找到", ["name"] = "名称", ["search"] = "搜索",
        ["createkey"] = "创建密钥", ["create"] = "创建", ["keycreated"] = "密钥只显示这一次，请立即复制。", ["copy"] = "复制", ["copied"] = "已复制",
        ["enabled"] = "已启用", ["disabled"] = "已禁用", ["enable"] = "启用", ["disable"] = "禁用", ["limits"] = "限制", ["save"] = "保存",
        ["maxconcurrent"] = "并发任务数", ["maxpending"] = "排队上限", ["ratelimit"] = "每秒请求数", ["dailylimit"] = "每日积分上限",
        ["monthlylimit"] = "每月积分上限", ["adjust"] = "充值或调整", ["amount"] = "数额（负数为扣回）", ["note"] = "备注",
        ["apply"] = "执行", ["role"] = "用途：", ["remove"] = "移除", ["amountcol"] = "数额", ["csv"] = "导出 CSV", ["kind"] = "类型", ["key"] = "密钥", ["prefix"] = "前缀", ["keyid"] = "密钥 ID",
        ["last24h"] = "最近 24 小时", ["successrate"] = "成功率", ["captured"] = "扣除积分", ["inflight"] = "进行中",
        ["median"] = "完成耗时中位数", ["p95"] = "95 分位", ["recentfailures"] = "最近失败", ["nofailures"] = "没有失败。",
        ["state"] = "状态", ["cooling"] = "冷却至", ["recenterrors"] = "最近错误", ["models"] = "模型", ["from"] = "从", ["to"] = "到",
        ["find"] = "查找", ["notice.cancelled"] = "任务已取消，冻结的积分已释放。", ["notice.redelivered"] = "回调已重新发送。",
        ["notice.rotated"] = "新的密钥已开始签名。", ["notice.saved"] = "已保存。", ["notice.adjusted"] = "积分已调整。",
        ["error.INVALID_API_KEY"] = "API 密钥缺失、未知或已禁用。",
        ["error.INVALID_PARAMETER"] = "参数无效或格式错误，错误信息会指出字段和规则。",
        ["error.MISSING_PARAMETER"] = "缺少必填参数。",
        ["error.INSUFFICIENT_CREDIT"] = "余额不足以支付本次任务，请联系管理员充值。",
        ["error.TASK_NOT_FOUND"] = "该密钥下没有这个任务。",
        ["error.TASK_CANCEL_NOT_ALLOWED"] = "任务已结束或上游拒绝取消，任务继续执行。",
        ["error.CONCURRENCY_LIMIT_REACHED"] = "该密钥排队的任务过多，未创建任务也未扣费。",
        ["error.RATE_LIMIT_EXCEEDED"] = "请求过于频繁，请稍后再试。",
        ["error.SERVICE_BUSY"] = "服务繁忙，请稍后重试。",
        ["error.INTERNAL_ERROR"] = "服务器内部错误。",
        ["error.CONTENT_MODERATION_FAILED"] = "内容审核未通过：输入或输出包含敏感内容，请修改提示词或参考素材。",
        ["error.CREDIT_DEDUCT_FAILED"] = "积分扣除失败，请重试。",
        ["error.TASK_SUBMIT_FAILED"] = "任务提交失败，请重试。",
        ["error.FILE_UPLOAD_FAILED"] = "生成上传地址失败。",
        ["error.VIDEO_DOWNLOAD_FAILED"] = "视频处理失败，冻结的积分已释放。",
        ["error.COPYRIGHT_VIOLATION"] = "内容可能涉及版权限制。",
        ["error.PRIVACY_VIOLATION"] = "输入包含真实人物图像，不被允许。",
        ["error.KEY_NOT_FOUND"] = "没有这个密钥。", ["error.NOT_FOUND"] = "这个地址没有内容。",
        ["error.FORM_EXPIRED"] = "表单已过期或不是从本控制台提交的（防伪校验），请刷新页面后重试。",
        ["error.SIGN_IN_THROTTLED"] = "该地址登录尝试过多，请一分钟后再试。",
        ["error.OTHER"] = "请求被拒绝。",
    };
}
