use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, CopyField, DangerZone, EmptyState, FormAlert, INPUT, LABEL,
    LINK, PageHeader, TABLE, TD, TH, TextField, action_error, field_error, field_sentence,
    id_param, refresh_key, show, textarea_text,
};
use crate::server_fns::api_keys::{
    DeleteApiKey, SaveApiKey, ToggleApiKey, load_api_key, load_api_keys,
};
use crate::types::{ApiKeyView, CreatedKey};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_api_keys());
    view! {
        <Title text="API keys"/>
        <PageHeader title="API keys".to_string()>
            <a class=BUTTON href="/api-keys/new">"New API key"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">
            "Third-party systems present a key with every call to the listener URLs, as the "
            <code>"apiKey"</code> " query parameter, the " <code>"X-Api-Key"</code> " header or "
            <code>"Authorization: Bearer …"</code> "."
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |list| view! {
                    {list.just_created.map(|created| view! { <NewKeyBanner created/> })}
                    <KeyTable keys=list.keys/>
                })
            })}
        </Suspense>
    }
}

#[component]
fn NewKeyBanner(created: CreatedKey) -> impl IntoView {
    view! {
        <section aria-labelledby="new-key" class="mb-6 rounded-lg border border-amber-300 bg-amber-50 p-4 sm:p-6">
            <h2 id="new-key" class="text-lg font-semibold text-amber-900">{format!("Your new key “{}”", created.name)}</h2>
            <p class="mt-1 mb-3 text-sm text-amber-900">"Copy it now: it is shown only this once, and only its fingerprint is stored."</p>
            <CopyField id="new-key-value" label="New API key" label_hidden=true value=created.key/>
        </section>
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKeyView>) -> impl IntoView {
    if keys.is_empty() {
        return view! {
            <EmptyState title="No API keys yet." text="Another system sends an API key with every call to a listener or an external source. Make one key per system, so that each can be switched off on its own.">
                <a class=BUTTON href="/api-keys/new">"New API key"</a>
            </EmptyState>
        }
        .into_any();
    }
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">"API keys"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Key"</th>
                        <th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=TH>"Created"</th>
                        <th scope="col" class=TH>"Last used"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Uses"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {keys.into_iter().map(|k| view! {
                        <tr>
                            <td class=TD><a class=LINK href=format!("/api-keys/{}", k.id)>{k.name.clone()}</a></td>
                            <td class=format!("{TD} font-mono text-xs")>{k.hint.clone()}</td>
                            <td class=TD><Status enabled=k.enabled/></td>
                            <td class=format!("{TD} whitespace-nowrap")>{k.created_at.clone()}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{k.last_used_at.clone().unwrap_or_else(|| "Never".into())}</td>
                            <td class=format!("{TD} text-right tabular-nums")>{k.use_count}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Status(enabled: bool) -> impl IntoView {
    if enabled {
        view! { <span class="rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-800">"Enabled"</span> }
    } else {
        view! { <span class="rounded-full bg-slate-200 px-2 py-0.5 text-xs font-medium text-slate-700">"Disabled"</span> }
    }
}

#[component]
pub fn NewApiKeyPage() -> impl IntoView {
    view! {
        <Title text="New API key"/>
        <PageHeader title="New API key".to_string()/>
        <crate::app::components::CommunityManagersOnly>
            <KeyEditor key=None/>
        </crate::app::components::CommunityManagersOnly>
    }
}

#[component]
pub fn ApiKeyPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || (refresh_key(), id()), |(_, v)| load_api_key(v));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |k| view! {
                    <Title text=k.name.clone()/>
                    <PageHeader title=k.name.clone()>
                        <a class=BUTTON_SECONDARY href="/api-keys">"All API keys"</a>
                    </PageHeader>
                    <dl class=format!("{CARD} mb-6 grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-3")>
                        <div><dt class="text-xs font-medium uppercase text-slate-500">"Key"</dt><dd class="font-mono text-sm">{k.hint.clone()}</dd></div>
                        <div><dt class="text-xs font-medium uppercase text-slate-500">"Status"</dt><dd><Status enabled=k.enabled/></dd></div>
                        <div><dt class="text-xs font-medium uppercase text-slate-500">"Uses"</dt><dd class="text-sm">{format!("{} (last {})", k.use_count, k.last_used_at.clone().unwrap_or_else(|| "never".into()))}</dd></div>
                    </dl>
                    <KeyEditor key=Some(k.clone())/>
                    <ToggleKey id=k.id enabled=k.enabled/>
                    <DangerZone action={ServerAction::<DeleteApiKey>::new()} id=k.id heading="Delete this key" confirm_label="Yes, delete this key; systems that use it will get 401" button="Delete key"/>
                })
            })}
        </Suspense>
    }
}

#[component]
fn KeyEditor(key: Option<ApiKeyView>) -> impl IntoView {
    let action = ServerAction::<SaveApiKey>::new();
    let error = action_error(action);
    let ips_error = field_error(error, "allowed_ips");
    let editing = key.is_some();
    let k = key.unwrap_or(ApiKeyView {
        id: 0,
        name: String::new(),
        description: String::new(),
        prefix: String::new(),
        hint: String::new(),
        allowed_ips: String::new(),
        enabled: true,
        created_at: String::new(),
        last_used_at: None,
        use_count: 0,
    });
    view! {
        <ActionForm action=action attr:class=format!("{CARD} space-y-4")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=if editing { k.id.to_string() } else { String::new() }/>
            <TextField label="Name" name="form[name]" value=k.name.clone() required=true autocomplete="off" error=field_error(error, "name")/>
            <TextField label="Description" name="form[description]" value=k.description.clone() autocomplete="off" error=field_error(error, "description")/>
            {(!editing).then(|| view! {
                <TextField label="Prefix" name="form[prefix]" autocomplete="off" hint="Letters and digits that start the key, e.g. jira; empty gives sy." error=field_error(error, "prefix")/>
            })}
            <div>
                <label for="f-allowed-ips" class=LABEL>"Allowed caller IPs"</label>
                <textarea id="f-allowed-ips" name="form[allowed_ips]" rows="3" class=INPUT
                    aria-describedby="f-allowed-ips-hint"
                    aria-invalid=move || ips_error.get().is_some().then_some("true")
                >{textarea_text(k.allowed_ips.clone())}</textarea>
                <p id="f-allowed-ips-hint" class="mt-1 text-xs text-slate-500">"IP addresses or CIDR ranges, separated by commas or new lines. Empty accepts every caller."</p>
                {move || ips_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Allowed caller IPs", &e)}</p> })}
            </div>
            <div class="flex gap-2">
                <button type="submit" class=BUTTON>{if editing { "Save API key" } else { "Create API key" }}</button>
                <a class=BUTTON_SECONDARY href="/api-keys">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

#[component]
fn ToggleKey(id: i32, enabled: bool) -> impl IntoView {
    let action = ServerAction::<ToggleApiKey>::new();
    crate::app::components::refresh_after(action);
    view! {
        <ActionForm action=action attr:class=format!("{CARD} mt-6 flex flex-wrap items-center justify-between gap-3")>
            <input type="hidden" name="form[id]" value=id.to_string()/>
            <input type="hidden" name="form[enabled]" value=if enabled { "false" } else { "true" }/>
            <p class="text-sm text-slate-700">
                {if enabled { "Calls with this key are accepted. Disabling it refuses them (403) until it is enabled again." } else { "Calls with this key are refused with 403." }}
            </p>
            <button type="submit" class=BUTTON_SECONDARY>{if enabled { "Disable key" } else { "Enable key" }}</button>
        </ActionForm>
    }
}
