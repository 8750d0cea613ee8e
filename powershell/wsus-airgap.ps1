<#
.SYNOPSIS
    wsus-airgap's only way into WSUS: read the server into JSON, or apply a plan given as JSON.

.DESCRIPTION
    wsus-airgap embeds this script and runs it with Windows PowerShell 5.1 on the WSUS server:

        powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <copy of this
            script> -Request <request.json> -Response <response.json> -Journal <journal.jsonl>

    Every value comes from the request file and is used as data: as a GUID, a group name, an
    enum member checked against a fixed list, a date. Nothing read from a file is run as code.
    All decisions (what to approve, what to hold back and why) are made by wsus-airgap before
    it writes the request; this script only carries them out.

    Request actions:
      read    the server's version and settings, its computer groups, every approval, every
              declined update, and for each update id listed in "updates" (and, with
              "include_approved", each approved update) whether it exists, its title, its
              licence and its state.
      apply   create computer groups, accept licences, approve and decline updates, in that
              order. Each step done is appended at once to the journal (one JSON object a
              line), so that a run that fails half way still tells what it changed.

    Exit code 0 when the response was written; 1 on any error, with the message on stderr.
#>
param(
    [Parameter(Mandatory = $true)][string]$Request,
    [Parameter(Mandatory = $true)][string]$Response,
    [Parameter(Mandatory = $true)][string]$Journal
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$FormatVersion = 1
$Utf8 = New-Object System.Text.UTF8Encoding $false
$Invariant = [System.Globalization.CultureInfo]::InvariantCulture
$ApprovalActions = @('Install', 'Uninstall')

function Get-Server {
    # The UpdateServices module where it is installed, else the administration API itself.
    if (Get-Module -ListAvailable -Name UpdateServices) {
        Import-Module UpdateServices
        return Get-WsusServer
    }
    [void][System.Reflection.Assembly]::LoadWithPartialName('Microsoft.UpdateServices.Administration')
    return [Microsoft.UpdateServices.Administration.AdminProxy]::GetUpdateServer()
}

function Format-Time([datetime]$Time) {
    # DateTime.MaxValue is WSUS's "no deadline".
    if ($Time -eq [datetime]::MaxValue) {
        return $null
    }
    return $Time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant)
}

function ConvertTo-Guid([string]$Text) {
    $guid = [guid]::Empty
    if (-not [guid]::TryParse($Text, [ref]$guid)) {
        throw "not a GUID: '$Text'"
    }
    return $guid
}

function Get-ServerFacts($Server) {
    $config = $Server.GetConfiguration()
    $languages = @()
    foreach ($language in $config.GetEnabledUpdateLanguages()) {
        $languages += [string]$language
    }
    $subscription = $Server.GetSubscription()
    $products = @()
    foreach ($category in $subscription.GetUpdateCategories()) {
        $products += @{ id = $category.Id.ToString(); title = [string]$category.Title }
    }
    $classifications = @()
    foreach ($classification in $subscription.GetUpdateClassifications()) {
        $classifications += @{ id = $classification.Id.ToString(); title = [string]$classification.Title }
    }
    return @{
        name            = [string]$Server.Name
        version         = $Server.Version.ToString()
        all_languages   = [bool]$config.AllUpdateLanguagesEnabled
        languages       = $languages
        express_files   = [bool]$config.DownloadExpressPackages
        products        = $products
        classifications = $classifications
    }
}

function Get-Groups($Server) {
    $groups = @()
    foreach ($group in $Server.GetComputerTargetGroups()) {
        $parent = $null
        try {
            $parentGroup = $group.GetParentTargetGroup()
            if ($null -ne $parentGroup) {
                $parent = $parentGroup.Id.ToString()
            }
        } catch {
            # All Computers has no parent.
            $parent = $null
        }
        $groups += @{ id = $group.Id.ToString(); name = [string]$group.Name; parent = $parent }
    }
    return $groups
}

function Get-Approvals($Server) {
    $scope = New-Object Microsoft.UpdateServices.Administration.UpdateScope
    $approvals = @()
    foreach ($approval in $Server.GetUpdateApprovals($scope)) {
        $approvals += @{
            update_id = $approval.UpdateId.UpdateId.ToString()
            revision  = [int]$approval.UpdateId.RevisionNumber
            group_id  = $approval.ComputerTargetGroupId.ToString()
            action    = $approval.Action.ToString()
            deadline  = Format-Time $approval.Deadline
            optional  = [bool]$approval.IsOptional
            state     = $approval.State.ToString()
        }
    }
    return $approvals
}

function Get-Declines($Server) {
    $scope = New-Object Microsoft.UpdateServices.Administration.UpdateScope
    $scope.ApprovedStates = [Microsoft.UpdateServices.Administration.ApprovedStates]::Declined
    $declines = @()
    foreach ($update in $Server.GetUpdates($scope)) {
        $declines += @{ update_id = $update.Id.UpdateId.ToString(); revision = [int]$update.Id.RevisionNumber }
    }
    return $declines
}

function Find-Update($Server, [string]$Id) {
    $revision = New-Object Microsoft.UpdateServices.Administration.UpdateRevisionId -ArgumentList (ConvertTo-Guid $Id)
    try {
        return $Server.GetUpdate($revision)
    } catch [Microsoft.UpdateServices.Administration.WsusObjectNotFoundException] {
        return $null
    }
}

function Get-UpdateFacts($Server, [string[]]$Ids) {
    $facts = @()
    foreach ($id in $Ids) {
        $update = Find-Update $Server $id
        if ($null -eq $update) {
            $facts += @{ id = $id; found = $false }
            continue
        }
        $kb = @()
        foreach ($article in $update.KnowledgebaseArticles) {
            $kb += [string]$article
        }
        $facts += @{
            id               = $update.Id.UpdateId.ToString()
            revision         = [int]$update.Id.RevisionNumber
            found            = $true
            title            = [string]$update.Title
            kb               = $kb
            requires_licence = [bool]$update.RequiresLicenseAgreementAcceptance
            declined         = [bool]$update.IsDeclined
            state            = $update.State.ToString()
        }
    }
    return $facts
}

function Invoke-Read($Server, $Request) {
    $approvals = @(Get-Approvals $Server)
    $ids = @()
    foreach ($id in $Request.updates) {
        $ids += [string]$id
    }
    if ($Request.include_approved) {
        foreach ($approval in $approvals) {
            $ids += $approval.update_id
        }
    }
    $ids = @($ids | Sort-Object -Unique)
    return @{
        format_version = $FormatVersion
        server         = Get-ServerFacts $Server
        groups         = @(Get-Groups $Server)
        approvals      = $approvals
        declines       = @(Get-Declines $Server)
        updates        = @(Get-UpdateFacts $Server $ids)
    }
}

function Write-Journal($Entry) {
    $line = ConvertTo-Json -InputObject $Entry -Compress -Depth 4
    [System.IO.File]::AppendAllText($Journal, $line + "`n", $Utf8)
}

function Get-Group($Server, $Created, $Step, [string]$IdField, [string]$KeyField) {
    $id = $Step.$IdField
    if ($null -ne $id) {
        return $Server.GetComputerTargetGroup((ConvertTo-Guid $id))
    }
    $key = [string]$Step.$KeyField
    if (-not $Created.ContainsKey($key)) {
        throw "the plan names group '$key', which it does not create"
    }
    return $Created[$key]
}

function Get-PlannedUpdate($Server, [string]$Id) {
    $update = Find-Update $Server $Id
    if ($null -eq $update) {
        throw "update $Id is not on this server"
    }
    return $update
}

function Invoke-Apply($Server, $Plan) {
    $applied = @()
    $created = @{}
    foreach ($step in $Plan.create_groups) {
        $parent = Get-Group $Server $created $step 'parent_id' 'parent_key'
        $group = $Server.CreateComputerTargetGroup([string]$step.name, $parent)
        $created[[string]$step.key] = $group
        $entry = @{ step = 'create-group'; key = [string]$step.key; id = $group.Id.ToString(); name = [string]$step.name }
        Write-Journal $entry
        $applied += $entry
    }
    foreach ($id in $Plan.accept_licences) {
        $update = Get-PlannedUpdate $Server ([string]$id)
        if ($update.RequiresLicenseAgreementAcceptance) {
            $update.AcceptLicenseAgreement()
        }
        $entry = @{ step = 'accept-licence'; update_id = [string]$id }
        Write-Journal $entry
        $applied += $entry
    }
    foreach ($step in $Plan.approve) {
        $action = [string]$step.action
        if ($ApprovalActions -notcontains $action) {
            throw "not an approval action: '$action'"
        }
        $update = Get-PlannedUpdate $Server ([string]$step.update_id)
        $group = Get-Group $Server $created $step 'group_id' 'group_key'
        $actionValue = [Microsoft.UpdateServices.Administration.UpdateApprovalAction]$action
        if ($step.optional) {
            [void]$update.ApproveForOptionalInstall($group)
        } elseif ($null -ne $step.deadline) {
            # Windows PowerShell 5.1 leaves the time a string; a later PowerShell may have
            # made it a DateTime already.
            if ($step.deadline -is [datetime]) {
                $deadline = $step.deadline.ToUniversalTime()
            } else {
                $styles = [System.Globalization.DateTimeStyles]'AdjustToUniversal, AssumeUniversal'
                $deadline = [datetime]::ParseExact([string]$step.deadline, "yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant, $styles)
            }
            [void]$update.Approve($actionValue, $group, $deadline)
        } else {
            [void]$update.Approve($actionValue, $group)
        }
        $entry = @{ step = 'approve'; update_id = [string]$step.update_id; group_id = $group.Id.ToString(); action = $action }
        Write-Journal $entry
        $applied += $entry
    }
    foreach ($id in $Plan.decline) {
        $update = Get-PlannedUpdate $Server ([string]$id)
        $update.Decline()
        $entry = @{ step = 'decline'; update_id = [string]$id }
        Write-Journal $entry
        $applied += $entry
    }
    return @{ format_version = $FormatVersion; applied = $applied }
}

try {
    $text = [System.IO.File]::ReadAllText($Request, $Utf8)
    $requested = ConvertFrom-Json -InputObject $text
    if ($requested.format_version -ne $FormatVersion) {
        throw "request format $($requested.format_version) is not $FormatVersion"
    }
    $server = Get-Server
    switch ([string]$requested.action) {
        'read' { $result = Invoke-Read $server $requested }
        'apply' { $result = Invoke-Apply $server $requested.plan }
        default { throw "unknown action '$($requested.action)'" }
    }
    $json = ConvertTo-Json -InputObject $result -Depth 8
    [System.IO.File]::WriteAllText($Response, $json, $Utf8)
    exit 0
} catch {
    [Console]::Error.WriteLine("wsus-airgap.ps1: " + $_.Exception.Message)
    exit 1
}
