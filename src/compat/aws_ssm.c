#include "compat/aws_ssm.h"
#include "compat/aws.h"

int aws_ssm_call(struct aws_call *c)
{
	return aws_fail(c, 400, "UnknownOperationException", NULL, "AmazonSSM.%.60s is not supported", c->op);
}
