#ifndef FW_AWS_SSM_H
#define FW_AWS_SSM_H
/* AWS Systems Manager OpsCenter OpsItems (AmazonSSM.*) over tickets. */

struct aws_call;

/* Runs c->op; sets c->out or an AWS error. Returns 0 or a negative code. */
int aws_ssm_call(struct aws_call *c);

#endif
