use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON_SECONDARY, CARD, EmptyState, PageHeader, TABLE, TD, TH, refresh_key, show,
};
use crate::server_fns::opt_out::load_opt_out_dashboard;
use crate::types::{OptOutDashboard, OptOutDay, OptOutTotal, ReceiptView};

/// The ranges the screen offers, in days.
const RANGES: [u32; 3] = [7, 30, 90];
const DEFAULT_RANGE: u32 = 30;

/// `2026-11-24` → `24 Nov`.
fn short_date(date: &str) -> String {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| d.format("%-d %b").to_string())
        .unwrap_or_else(|_| date.to_string())
}

fn removals(n: u64) -> String {
    if n == 1 {
        "1 removal".to_string()
    } else {
        format!("{n} removals")
    }
}

/// The top of the chart's scale: the largest day rounded up to 1, 2 or 5 times a power of
/// ten (at least 1), so the axis reads as a round number.
fn scale_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if max <= m * step {
                return m * step;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// The sentence that stands for the chart for screen readers.
fn chart_summary(d: &OptOutDashboard) -> String {
    let busiest = d.per_day.iter().filter(|x| x.removals > 0).max_by(|a, b| {
        a.removals
            .cmp(&b.removals)
            .then_with(|| b.date.cmp(&a.date))
    });
    match busiest {
        None => format!("Removals per day over the last {} days: none.", d.days),
        Some(b) => format!(
            "Removals per day over the last {} days: {} in all; the busiest day was {} with {}.",
            d.days,
            d.total,
            b.date,
            removals(b.removals)
        ),
    }
}

#[component]
pub fn OptOutPage() -> impl IntoView {
    let query = use_query_map();
    let days = move || {
        query
            .read()
            .get("days")
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(DEFAULT_RANGE)
    };
    let data = Resource::new(
        move || (refresh_key(), days()),
        |(_, d)| load_opt_out_dashboard(d),
    );
    view! {
        <Title text="Opt-out dashboard"/>
        <PageHeader title="Opt-out dashboard".to_string()>
            // A file, not a page: `download` and `rel="external"` keep the router out of it.
            <a class=BUTTON_SECONDARY href="/opt-out.csv" download="" rel="external">"Download CSV"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"People removed completely by a macro that reports to this dashboard. Only the fact of each removal is kept (when, which macro, which listener, which teams): no names or addresses. Days are UTC days."</p>
        <nav aria-label="Range" class="mb-6 flex flex-wrap gap-2">
            {RANGES.into_iter().map(|n| {
                let current = move || (days() == n).then_some("page");
                view! {
                    <a
                        href=format!("/opt-out?days={n}")
                        aria-current=current
                        class="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-indigo-500 aria-[current=page]:border-indigo-600 aria-[current=page]:bg-indigo-600 aria-[current=page]:text-white"
                    >
                        {format!("Last {n} days")}
                    </a>
                }
            }).collect_view()}
        </nav>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { show(data.await, |d| view! { <Dashboard d/> }) })}
        </Suspense>
    }
}

#[component]
fn Dashboard(d: OptOutDashboard) -> impl IntoView {
    let busiest = d
        .per_day
        .iter()
        .filter(|x| x.removals > 0)
        .max_by(|a, b| {
            a.removals
                .cmp(&b.removals)
                .then_with(|| b.date.cmp(&a.date))
        })
        .map(|b| format!("{} ({})", short_date(&b.date), b.removals))
        .unwrap_or_else(|| "—".into());
    let average = format!("{:.1}", d.total as f64 / f64::from(d.days.max(1)));
    let cards = [
        (
            format!("Removals, last {} days", d.days),
            d.total.to_string(),
        ),
        ("Busiest day".to_string(), busiest),
        ("Average per day".to_string(), average),
    ];
    view! {
        <section aria-label="Summary" class="grid grid-cols-3 gap-2 sm:gap-4">
            {cards.into_iter().map(|(label, value)| view! {
                <div class="rounded-lg border border-slate-200 bg-white p-3 shadow-sm sm:p-6">
                    <p class="text-xs text-slate-600 sm:text-sm">{label}</p>
                    <p class="mt-1 text-xl font-semibold tabular-nums sm:text-3xl">{value}</p>
                </div>
            }).collect_view()}
        </section>
        <section aria-labelledby="per-day" class=format!("{CARD} mt-6")>
            <h2 id="per-day" class="mb-4 text-lg font-semibold">"Removals per day"</h2>
            <Chart d=d.clone()/>
        </section>
        <div class="mt-6 grid grid-cols-1 gap-6 md:grid-cols-2">
            <Totals id="by-listener" heading="By listener" column="Listener" rows=d.by_listener.clone() total=d.total/>
            <Totals id="by-macro" heading="By macro" column="Macro" rows=d.by_macro.clone() total=d.total/>
        </div>
        <Receipts receipts=d.receipts.clone()/>
    }
}

/// How a removal was asked for, in words.
fn asked_by(r: &ReceiptView) -> String {
    use crate::shared::vocab::Trigger;
    let how = match Trigger::parse(&r.trigger).unwrap_or(Trigger::Manual) {
        Trigger::Delete => "Deleted from the user page".to_string(),
        Trigger::Listener => match &r.listener_name {
            Some(l) => format!("{} through the listener {l}", r.macro_name),
            None => format!("{} through a listener", r.macro_name),
        },
        Trigger::Bulk => format!("{} as a bulk action", r.macro_name),
        Trigger::Schedule => format!("{} on its schedule", r.macro_name),
        Trigger::Automation => format!("{} by automation", r.macro_name),
        Trigger::Manual => format!("{} run by hand", r.macro_name),
    };
    format!("{how}, by {}", r.actor)
}

/// Each removal's receipt: what it removed or scrubbed and what it told other systems.
#[component]
fn Receipts(receipts: Vec<ReceiptView>) -> impl IntoView {
    view! {
        <section aria-labelledby="receipts" class=format!("{CARD} mt-6")>
            <h2 id="receipts" class="mb-1 text-lg font-semibold">"Erasure receipts"</h2>
            <p class="mb-3 text-sm text-slate-600">"Every removal in this range, newest first (whatever the macro's dashboard option): what it removed or scrubbed and which other systems it told. The person is named only by the label the logs use."</p>
            {if receipts.is_empty() {
                view! { <EmptyState title="No removals in this range." text="Each removal leaves a receipt here: by a macro (through a listener, a bulk run, a schedule or by hand) or by Delete user on a user's page. Pick a longer range to see older ones."/> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100">
                        {receipts.into_iter().map(|r| {
                            let asked = asked_by(&r);
                            let rows: u64 = r.counts.iter().map(|(_, n)| n).sum();
                            view! {
                                <li class="py-3" data-receipt=r.id.to_string()>
                                    <p class="text-sm font-medium text-slate-900">
                                        <span class="tabular-nums">{r.occurred_at.clone()}</span>
                                        " · "
                                        <span class="break-all">{r.subject.clone()}</span>
                                    </p>
                                    <p class="text-sm text-slate-600">{asked}</p>
                                    <details class="mt-1 text-sm">
                                        <summary class="cursor-pointer text-indigo-700">{if rows == 1 { "1 row removed or scrubbed".to_string() } else { format!("{rows} rows removed or scrubbed") }}</summary>
                                        <ul class="mt-1 list-disc pl-5 text-slate-700">
                                            {r.counts.iter().map(|(kind, n)| view! {
                                                <li>{format!("{kind}: {n}")}</li>
                                            }).collect_view()}
                                        </ul>
                                    </details>
                                    {(!r.downstream.is_empty()).then(|| view! {
                                        <ul class="mt-1 text-sm" aria-label="Other systems told">
                                            {r.downstream.iter().map(|d| {
                                                let state = if d.erased {
                                                    format!("{}, identifier erased", d.status.as_str())
                                                } else {
                                                    d.status.as_str().to_string()
                                                };
                                                view! {
                                                    <li>
                                                        <a class="text-indigo-700 underline underline-offset-2" href=format!("/webhooks/deliveries/{}", d.delivery_id)>{d.webhook.clone()}</a>
                                                        ": "
                                                        <span>{state}</span>
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// The bar chart, drawn on the server as SVG. The SVG stretches to the card's width; the
/// axis labels are HTML so they keep their size on a phone.
#[component]
fn Chart(d: OptOutDashboard) -> impl IntoView {
    const W: f64 = 700.0;
    const H: f64 = 200.0;
    let summary = chart_summary(&d);
    let max = d.per_day.iter().map(|x| x.removals).max().unwrap_or(0);
    let top = scale_top(max);
    let slot = W / d.per_day.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let first = d
        .per_day
        .first()
        .map(|x| short_date(&x.date))
        .unwrap_or_default();
    let middle = d
        .per_day
        .get(d.per_day.len() / 2)
        .map(|x| short_date(&x.date))
        .unwrap_or_default();
    let last = d
        .per_day
        .last()
        .map(|x| short_date(&x.date))
        .unwrap_or_default();
    let bars = d
        .per_day
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let x = i as f64 * slot;
            let h = if day.removals == 0 {
                0.0
            } else {
                (day.removals as f64 / top as f64 * H).max(2.0)
            };
            let label = format!("{}: {}", day.date, removals(day.removals));
            view! {
                <g>
                    <title>{label}</title>
                    <rect x=format!("{x:.2}") y="0" width=format!("{slot:.2}") height=format!("{H}") fill="transparent"></rect>
                    <rect x=format!("{:.2}", x + (slot - bar) / 2.0) y=format!("{:.2}", H - h) width=format!("{bar:.2}") height=format!("{h:.2}") class="fill-indigo-500"></rect>
                </g>
            }
        })
        .collect_view();
    view! {
        <div class="flex gap-2">
            <div aria-hidden="true" class="flex h-48 flex-col justify-between text-right text-xs tabular-nums text-slate-500">
                <span class="-mt-2">{top}</span>
                <span class="-mb-2">"0"</span>
            </div>
            <div class="min-w-0 flex-1">
                <svg
                    role="img"
                    aria-label=summary
                    viewBox=format!("0 0 {W} {H}")
                    preserveAspectRatio="none"
                    class="block h-48 w-full border-b border-l border-slate-300"
                >
                    <line x1="0" y1="0.5" x2=format!("{W}") y2="0.5" stroke="#e2e8f0" stroke-dasharray="4 4" vector-effect="non-scaling-stroke"></line>
                    <line x1="0" y1=format!("{}", H / 2.0) x2=format!("{W}") y2=format!("{}", H / 2.0) stroke="#e2e8f0" stroke-dasharray="4 4" vector-effect="non-scaling-stroke"></line>
                    {bars}
                </svg>
                <div aria-hidden="true" class="mt-1 flex justify-between text-xs text-slate-500">
                    <span>{first}</span>
                    <span>{middle}</span>
                    <span>{last}</span>
                </div>
            </div>
        </div>
        <details class="mt-4 text-sm">
            <summary class="cursor-pointer text-indigo-700">"Show the numbers as a table"</summary>
            <DayTable days=d.per_day/>
        </details>
    }
}

#[component]
fn DayTable(days: Vec<OptOutDay>) -> impl IntoView {
    view! {
        <div class="mt-2 max-h-96 overflow-y-auto rounded-lg border border-slate-200">
            <table class=TABLE>
                <caption class="sr-only">"Removals per day"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Day"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Removals"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {days.into_iter().rev().map(|d| view! {
                        <tr>
                            <th scope="row" class=format!("{TD} text-left font-normal tabular-nums")>{d.date}</th>
                            <td class=format!("{TD} text-right tabular-nums")>{d.removals}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Totals(
    id: &'static str,
    heading: &'static str,
    column: &'static str,
    rows: Vec<OptOutTotal>,
    total: u64,
) -> impl IntoView {
    let share = move |n: u64| {
        if total == 0 {
            "0%".to_string()
        } else {
            format!("{:.0}%", n as f64 * 100.0 / total as f64)
        }
    };
    view! {
        <section aria-labelledby=id class=CARD>
            <h2 id=id class="mb-3 text-lg font-semibold">{heading}</h2>
            {if rows.is_empty() {
                view! { <p class="text-sm text-slate-600">"No removals in this range."</p> }.into_any()
            } else {
                view! {
                    <div class="relative overflow-x-auto">
                        <table class=TABLE>
                            <caption class="sr-only">{format!("Removals {}", heading.to_lowercase())}</caption>
                            <thead>
                                <tr>
                                    <th scope="col" class=TH>{column}</th>
                                    <th scope="col" class=format!("{TH} text-right")>"Removals"</th>
                                    <th scope="col" class=format!("{TH} text-right")>"Share"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {rows.into_iter().map(|r| view! {
                                    <tr>
                                        <th scope="row" class=format!("{TD} text-left font-normal")>{r.name}</th>
                                        <td class=format!("{TD} text-right tabular-nums")>{r.removals}</td>
                                        <td class=format!("{TD} text-right tabular-nums text-slate-600")>{share(r.removals)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                            <tfoot class="border-t border-slate-300">
                                <tr>
                                    <th scope="row" class=format!("{TD} text-left")>"Total"</th>
                                    <td class=format!("{TD} text-right font-semibold tabular-nums")>{total}</td>
                                    <td class=TD></td>
                                </tr>
                            </tfoot>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_a_round_number() {
        assert_eq!(scale_top(0), 1);
        assert_eq!(scale_top(1), 1);
        assert_eq!(scale_top(3), 5);
        assert_eq!(scale_top(7), 10);
        assert_eq!(scale_top(11), 20);
        assert_eq!(scale_top(250), 500);
    }

    #[test]
    fn the_summary_names_the_busiest_day() {
        let d = OptOutDashboard {
            days: 3,
            per_day: vec![
                OptOutDay {
                    date: "2026-11-22".into(),
                    removals: 2,
                },
                OptOutDay {
                    date: "2026-11-23".into(),
                    removals: 0,
                },
                OptOutDay {
                    date: "2026-11-24".into(),
                    removals: 2,
                },
            ],
            by_listener: vec![],
            by_macro: vec![],
            total: 4,
            receipts: vec![],
        };
        assert_eq!(
            chart_summary(&d),
            "Removals per day over the last 3 days: 4 in all; the busiest day was 2026-11-22 with 2 removals."
        );
        assert_eq!(short_date("2026-11-04"), "4 Nov");
    }
}
